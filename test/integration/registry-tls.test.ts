// A registry behind a private CA (issue 19 item 16). dockerd trusts the system CA store plus
// /etc/docker/certs.d/<address>/ (*.crt as CAs, client.cert/client.key); preflight used Node's
// bundled CA list instead, so such a registry got a false blocker whose fix was to turn TLS
// off (registry.insecure: true). Here Debian's docker-registry serves HTTPS on the rig
// daemon's bridge address (not loopback, which dockerd never checks) with a certificate from a
// CA made by openssl in the test, and asks for a client certificate; certs.d is a temp dir
// (the test build reads DEVMAPPER_MIGRATE_TEST_CERTS_D; the release build has only the real one).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, runOk, startDockerd, startRegistry, type DaemonHandle, type RegistryHandle } from '../rig/index.js';
import { cli, writeAnswers } from './fault-common.js';

let daemon: DaemonHandle | undefined;
let registry: RegistryHandle | undefined;
let work: string;

/** A CA, a server certificate for `ip` and a client certificate, made with openssl. */
async function makeCertificates(dir: string, ip: string): Promise<void> {
  const ssl = (...args: string[]) => runOk('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=dmm test private CA');
  for (const [name, subject, ext] of [
    ['server', `/CN=${ip}`, `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`],
    ['client', '/CN=dmm test client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    await ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

beforeAll(async () => {
  await ensureDist();
  work = mkdtempSync(join(tmpdir(), 'dmm-registry-tls-'));
  daemon = await startDockerd({ name: 'registry-tls', storageDriver: 'vfs' });
  const ip = `${daemon.subnetPrefix}.0.1`;
  await makeCertificates(work, ip);
  registry = await startRegistry({ auth: false, host: ip, tls: { certificate: join(work, 'server.crt'), key: join(work, 'server.key'), clientCas: [join(work, 'ca.crt')] } });
}, 300_000);

afterAll(async () => {
  const results = await Promise.allSettled([registry?.stop(), daemon?.stop()]);
  rmSync(work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

/** A certs.d root holding `files` (name → file in work) for the registry. */
function certsD(name: string, files: Record<string, string>): string {
  const root = join(work, name);
  mkdirSync(join(root, registry!.address), { recursive: true });
  for (const [file, source] of Object.entries(files)) writeFileSync(join(root, registry!.address, file), readText(source));
  return root;
}

function readText(file: string): string {
  return readFileSync(join(work, file), 'utf8');
}

/** `run --dry-run` with images pushed to the TLS registry, insecure: false; the registry checks run before the plan. */
function dryRun(root: string, stateDir: string) {
  const answersPath = join(work, `answers-${stateDir}.yaml`);
  writeAnswers({ daemon: daemon!, answersPath }, { extra: ['images:', '  push: true', 'registry:', `  address: ${registry!.address}`, '  insecure: false'].join('\n') });
  return cli({ daemon: daemon!, stateDir: join(work, stateDir) }, ['run', '--answers', answersPath, '--dry-run'], { DEVMAPPER_MIGRATE_TEST_CERTS_D: root });
}

describe('a registry behind a private CA that dockerd trusts through certs.d', () => {
  it('passes preflight: no registry blocker, no advice to turn TLS off', async () => {
    const root = certsD('certs-full', { 'ca.crt': 'ca.crt', 'client.cert': 'client.crt', 'client.key': 'client.key' });
    const result = await dryRun(root, 'state-trusted');
    const said = `${result.stdout}\n${result.stderr}`;
    expect(said).not.toMatch(/\[registry-[a-z-]+\]/);
    expect(said).not.toMatch(/insecure/);
    expect(result.code, said).toBe(0);
  }, 120_000);
});

describe('a registry behind a private CA that nothing trusts', () => {
  it('is a blocker that says where the CA goes, never to set insecure', async () => {
    const result = await dryRun(certsD('certs-empty', {}), 'state-untrusted');
    const said = `${result.stdout}\n${result.stderr}`;
    expect(result.code, said).toBe(1);
    expect(said).toContain('registry-certificate-untrusted');
    expect(said).toContain(join(work, 'certs-empty', registry!.address, 'ca.crt'));
    expect(said).not.toMatch(/insecure/);
  }, 120_000);

  it('with the CA but without the client certificate the registry asks for: the same blocker, naming client.cert', async () => {
    const result = await dryRun(certsD('certs-ca-only', { 'ca.crt': 'ca.crt' }), 'state-no-client-cert');
    const said = `${result.stdout}\n${result.stderr}`;
    expect(result.code, said).toBe(1);
    expect(said).toContain('registry-certificate-untrusted');
    expect(said).toContain('client.cert');
    expect(said).not.toMatch(/insecure|plain HTTP/);
  }, 120_000);
});
