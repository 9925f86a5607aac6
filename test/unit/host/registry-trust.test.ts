import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../../src/host/node-host.js';
import { registryTrust } from '../../../src/host/registry-trust.js';

// What dockerd trusts for a registry (issue 19 item 16): the system bundle where Go finds it,
// then certs.d/<address>/*.crt as CAs and a *.cert with its *.key as the client certificate.
let root: string;
const put = (hostPath: string, text: string) => {
  mkdirSync(dirname(join(root, hostPath)), { recursive: true });
  writeFileSync(join(root, hostPath), text);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dmm-registry-trust-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('registryTrust', () => {
  it('takes the RHEL bundle when there is no Debian one, and the registry’s certs.d CAs and client certificate', async () => {
    put('/etc/pki/tls/certs/ca-bundle.crt', 'SYSTEM');
    put('/etc/docker/certs.d/reg.corp:5000/ca.crt', 'PRIVATE CA');
    put('/etc/docker/certs.d/reg.corp:5000/client.cert', 'CLIENT CERT');
    put('/etc/docker/certs.d/reg.corp:5000/client.key', 'CLIENT KEY');
    put('/etc/docker/certs.d/other:5000/ca.crt', 'OTHER');
    const trust = await registryTrust(new NodeHost(root), 'reg.corp:5000', '/etc/docker/certs.d');
    expect(trust.ca).toEqual(['SYSTEM', 'PRIVATE CA']);
    expect(trust).toMatchObject({ cert: 'CLIENT CERT', key: 'CLIENT KEY' });
    expect(trust.sources).toContain('/etc/docker/certs.d/reg.corp:5000/client.key');
  });

  it('prefers the Debian bundle, and takes no client certificate without its key', async () => {
    put('/etc/ssl/certs/ca-certificates.crt', 'DEBIAN');
    put('/etc/pki/tls/certs/ca-bundle.crt', 'RHEL');
    put('/etc/docker/certs.d/reg.corp/client.cert', 'CLIENT CERT');
    const trust = await registryTrust(new NodeHost(root), 'reg.corp', '/etc/docker/certs.d');
    expect(trust.ca).toEqual(['DEBIAN']);
    expect(trust.cert).toBeUndefined();
  });

  it('falls back to Node’s list when the host has no bundle where Go looks', async () => {
    const trust = await registryTrust(new NodeHost(root), 'reg.corp', '/etc/docker/certs.d');
    expect(trust.ca.length).toBeGreaterThan(50);
    expect(trust.sources).toEqual([]);
  });
});
