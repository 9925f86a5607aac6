/**
 * Whether a push to the answers' registry can work, as the Docker daemon decides it (pure).
 *
 * What "insecure" means to dockerd (moby registry/config.go, isSecureIndex): a registry is
 * insecure when it is listed by name in `insecure-registries` (daemon.json or
 * `--insecure-registry`), or when one of its addresses falls in an insecure CIDR; 127.0.0.0/8
 * (and ::1) is insecure by default. For an insecure registry the daemon tries HTTPS without
 * checking the certificate, then plain HTTP; for any other it speaks HTTPS with a trusted
 * certificate only ("http: server gave HTTP response to HTTPS client"). The daemon reads this
 * at start, so a missing entry cannot be fixed without a restart: it is a preflight blocker.
 */
import { isIP } from 'node:net';
import { certsDirOf } from '../host/registry-trust.js';
import type { ReportEntry } from '../report/entry.js';

/** How to make dockerd (and preflight) trust a registry's certificate; never "turn TLS off". */
function trustRemedy(address: string): string {
  const dir = certsDirOf(address);
  return `Put the certificate of the CA that signed the registry's certificate in ${dir}/ca.crt (and client.cert/client.key there if the registry asks for a client certificate), or add that CA to the system store (update-ca-certificates, update-ca-trust); dockerd reads ${dir} at each push, no restart needed. Then run again.`;
}

/** The daemon's registry settings, from `GET /info` (`RegistryConfig`). */
export interface DaemonRegistryConfig {
  /** InsecureRegistryCIDRs, e.g. ["127.0.0.0/8"]. */
  insecureRegistryCidrs: string[];
  /** IndexConfigs by name ("docker.io", "reg.example.com:5000"): listed registries with their Secure flag. */
  indexConfigs: Record<string, { secure: boolean }>;
}

/** What the registry itself speaks, from a probe of `/v2/`. */
export type RegistryTransport = 'https' | 'https-untrusted' | 'http' | 'unreachable';

/** Splits "host:port", "[v6]:port" or "host" into its host part. */
export function hostOfAddress(address: string): string {
  const bare = address.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  if (bare.startsWith('[')) return bare.slice(1, bare.indexOf(']') > 0 ? bare.indexOf(']') : undefined);
  const colons = bare.split(':').length - 1;
  return colons === 1 ? (bare.split(':')[0] ?? '') : bare;
}

/** Whether an IP address lies in a CIDR ("127.0.0.0/8", "fd00::/8"). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const family = isIP(ip);
  if (!base || family === 0 || isIP(base) !== family) return false;
  const a = ipBytes(ip);
  const b = ipBytes(base);
  const bits = bitsText === undefined ? a.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > a.length * 8) return false;
  for (let i = 0; i < a.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if (((a[i] ?? 0) & mask) !== ((b[i] ?? 0) & mask)) return false;
  }
  return true;
}

function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  const mapped = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let text = ip;
  if (mapped) {
    const [p, q, r, s] = (mapped[2] ?? '').split('.').map(Number) as [number, number, number, number];
    text = `${mapped[1]}${((p << 8) | q).toString(16)}:${((r << 8) | s).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16) || 0;
    return [n >> 8, n & 0xff];
  });
}

export function isLoopbackIp(ip: string): boolean {
  return ipInCidr(ip, '127.0.0.0/8') || ipInCidr(ip, '::1/128') || ipInCidr(ip, '::ffff:127.0.0.0/104');
}

/** Whether dockerd treats the registry as insecure: listed by name, or an address in an insecure CIDR (moby's isSecureIndex). */
export function daemonTreatsAsInsecure(config: DaemonRegistryConfig, address: string, resolvedIps: readonly string[]): boolean {
  const name = address.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  const listed = config.indexConfigs[name];
  if (listed) return !listed.secure;
  const host = hostOfAddress(name);
  const ips = isIP(host) ? [host] : resolvedIps;
  return ips.some((ip) => config.insecureRegistryCidrs.some((cidr) => ipInCidr(ip, cidr)));
}

export interface RegistryTransportFacts {
  transport: RegistryTransport;
  /** What the probe saw, for the message (an error code, a status). */
  detail?: string;
  /** The registry host's addresses (empty when it does not resolve). */
  resolvedIps: readonly string[];
  daemon: DaemonRegistryConfig;
}

/**
 * Blockers for pushing to (or pulling from) the answers' registry: unreachable, plain HTTP or
 * an untrusted certificate without `insecure: true` (loopback excepted: dockerd allows it by
 * default), or `insecure: true` that the daemon's configuration does not back.
 */
export function checkRegistryTransport(registry: { address: string; insecure: boolean }, facts: RegistryTransportFacts): ReportEntry[] {
  const { address } = registry;
  const host = hostOfAddress(address);
  const ips = isIP(host) ? [host] : facts.resolvedIps;
  const loopback = host === 'localhost' || (ips.length > 0 && ips.every(isLoopbackIp));
  const daemonInsecure = daemonTreatsAsInsecure(facts.daemon, address, facts.resolvedIps);
  const configure = `List "${address}" under "insecure-registries" in /etc/docker/daemon.json and restart Docker before the run (the daemon reads it only at start).`;

  if (facts.transport === 'unreachable') {
    return [
      {
        key: 'registry-unreachable',
        severity: 'blocker',
        title: 'The registry cannot be reached',
        summary: `Nothing answers at ${address}${facts.detail ? ` (${facts.detail})` : ''}, so images cannot be pushed there.`,
        remediation: 'Check registry.address and that the registry is up and reachable from this host, or set images.push: false.',
        details: { address },
      },
    ];
  }
  if (facts.transport === 'https') return [];

  if (facts.transport === 'https-untrusted' && !registry.insecure && !loopback) {
    return [
      {
        key: 'registry-certificate-untrusted',
        severity: 'blocker',
        title: 'The registry presents a certificate Docker does not trust',
        summary: `The registry ${address} presents a certificate that neither the system CA store nor ${certsDirOf(address)}/ vouches for${facts.detail ? ` (${facts.detail})` : ''}, so the Docker daemon would refuse every push.`,
        remediation: trustRemedy(address),
        details: { address, transport: facts.transport },
      },
    ];
  }
  const what = facts.transport === 'http' ? 'speaks plain HTTP' : 'presents a certificate this host does not trust';
  if (!registry.insecure && !loopback) {
    return [
      {
        key: 'registry-insecure-not-allowed',
        severity: 'blocker',
        title: 'The registry speaks plain HTTP and the answers do not allow that',
        summary: `The registry ${address} ${what}${facts.detail ? ` (${facts.detail})` : ''}; images (and the password) would travel unprotected.`,
        remediation: `Serve the registry over HTTPS (a certificate from a CA in the system store, or a private CA in ${certsDirOf(address)}/ca.crt), or, if plain HTTP is acceptable on this network, set registry.insecure: true. ${configure}`,
        details: { address, transport: facts.transport },
      },
    ];
  }
  if (!daemonInsecure) {
    return [
      {
        key: 'registry-insecure-not-configured',
        severity: 'blocker',
        title: 'The Docker daemon will refuse this registry',
        summary: `The registry ${address} ${what}, and the daemon does not list it as an insecure registry, so every push would fail.`,
        remediation: facts.transport === 'https-untrusted' ? `${trustRemedy(address)} Or, to skip the certificate check: ${configure}` : configure,
        details: { address, transport: facts.transport, insecureRegistryCidrs: facts.daemon.insecureRegistryCidrs },
      },
    ];
  }
  return [];
}
