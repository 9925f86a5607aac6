import { describe, expect, it } from 'vitest';
import {
  checkRegistryTransport,
  daemonTreatsAsInsecure,
  hostOfAddress,
  ipInCidr,
  isLoopbackIp,
  type DaemonRegistryConfig,
} from '../../../src/config/registry-transport.js';

/** What a stock dockerd reports in GET /info RegistryConfig. */
const STOCK: DaemonRegistryConfig = { insecureRegistryCidrs: ['127.0.0.0/8'], indexConfigs: { 'docker.io': { secure: true } } };
const LISTED: DaemonRegistryConfig = {
  insecureRegistryCidrs: ['127.0.0.0/8', '10.20.0.0/16'],
  indexConfigs: { 'docker.io': { secure: true }, 'reg.lan:5000': { secure: false } },
};

describe('addresses and CIDRs', () => {
  it('matches IPv4 and IPv6 addresses against CIDRs', () => {
    expect(ipInCidr('127.0.0.1', '127.0.0.0/8')).toBe(true);
    expect(ipInCidr('128.0.0.1', '127.0.0.0/8')).toBe(false);
    expect(ipInCidr('10.20.3.4', '10.20.0.0/16')).toBe(true);
    expect(ipInCidr('10.21.3.4', '10.20.0.0/16')).toBe(false);
    expect(ipInCidr('fd00::1', 'fd00::/8')).toBe(true);
    expect(ipInCidr('fe80::1', 'fd00::/8')).toBe(false);
    expect(ipInCidr('10.0.0.1', 'fd00::/8')).toBe(false);
    expect(isLoopbackIp('::1')).toBe(true);
    expect(isLoopbackIp('127.8.9.10')).toBe(true);
    expect(isLoopbackIp('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackIp('192.168.1.1')).toBe(false);
  });

  it('takes the host out of an address', () => {
    expect(hostOfAddress('reg.lan:5000')).toBe('reg.lan');
    expect(hostOfAddress('https://reg.lan/v2/')).toBe('reg.lan');
    expect(hostOfAddress('[::1]:5000')).toBe('::1');
    expect(hostOfAddress('10.0.0.1')).toBe('10.0.0.1');
  });

  it('decides as dockerd does whether a registry is insecure', () => {
    expect(daemonTreatsAsInsecure(STOCK, '127.0.0.1:5000', [])).toBe(true);
    expect(daemonTreatsAsInsecure(STOCK, 'localhost:5000', ['127.0.0.1', '::1'])).toBe(true);
    expect(daemonTreatsAsInsecure(STOCK, 'reg.lan:5000', ['10.20.1.1'])).toBe(false);
    expect(daemonTreatsAsInsecure(LISTED, 'reg.lan:5000', ['192.168.0.9'])).toBe(true);
    expect(daemonTreatsAsInsecure(LISTED, 'other.lan:5000', ['10.20.1.1'])).toBe(true);
    expect(daemonTreatsAsInsecure(LISTED, 'other.lan:5000', [])).toBe(false);
  });
});

describe('checkRegistryTransport', () => {
  const keys = (entries: { key: string }[]): string[] => entries.map((e) => e.key);

  it('is content with HTTPS', () => {
    expect(checkRegistryTransport({ address: 'reg.example.com', insecure: false }, { transport: 'https', resolvedIps: ['1.2.3.4'], daemon: STOCK })).toEqual([]);
  });

  it('allows a plain-HTTP registry on loopback without insecure: true, as dockerd does', () => {
    expect(checkRegistryTransport({ address: '127.0.0.1:5000', insecure: false }, { transport: 'http', resolvedIps: [], daemon: STOCK })).toEqual([]);
  });

  it('blocks a non-loopback plain-HTTP registry without insecure: true, saying what to do', () => {
    const entries = checkRegistryTransport({ address: 'reg.lan:5000', insecure: false }, { transport: 'http', resolvedIps: ['10.20.1.1'], daemon: LISTED });
    expect(keys(entries)).toEqual(['registry-insecure-not-allowed']);
    expect(entries[0]?.severity).toBe('blocker');
    expect(entries[0]?.summary).toMatch(/reg\.lan:5000 speaks plain HTTP/);
    expect(entries[0]?.remediation).toMatch(/registry\.insecure: true/);
  });

  it('blocks an untrusted certificate, telling how to trust it and never to turn TLS off (issue 19 item 16)', () => {
    const entries = checkRegistryTransport({ address: 'reg.lan', insecure: false }, { transport: 'https-untrusted', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT', resolvedIps: ['10.0.0.5'], daemon: STOCK });
    expect(keys(entries)).toEqual(['registry-certificate-untrusted']);
    expect(entries[0]?.summary).toMatch(/certificate .*\(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(entries[0]?.remediation).toContain('/etc/docker/certs.d/reg.lan/ca.crt');
    expect(entries[0]?.remediation).not.toMatch(/insecure/);
  });

  it('blocks insecure: true that the daemon configuration does not back', () => {
    const entries = checkRegistryTransport({ address: 'reg.lan:5000', insecure: true }, { transport: 'http', resolvedIps: ['192.168.7.7'], daemon: STOCK });
    expect(keys(entries)).toEqual(['registry-insecure-not-configured']);
    expect(entries[0]?.remediation).toMatch(/insecure-registries.*daemon\.json.*restart/);
    expect(checkRegistryTransport({ address: 'reg.lan:5000', insecure: true }, { transport: 'http', resolvedIps: ['192.168.7.7'], daemon: LISTED })).toEqual([]);
  });

  it('blocks an unreachable registry', () => {
    const entries = checkRegistryTransport({ address: 'reg.lan:5000', insecure: true }, { transport: 'unreachable', detail: 'ECONNREFUSED', resolvedIps: [], daemon: LISTED });
    expect(keys(entries)).toEqual(['registry-unreachable']);
    expect(entries[0]?.summary).toMatch(/ECONNREFUSED/);
  });
});
