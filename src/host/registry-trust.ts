/**
 * What dockerd trusts when it talks to a registry over HTTPS (moby registry.newTLSConfig and
 * ReadCertsDirectory): the system's CA store, plus every `*.crt` in
 * /etc/docker/certs.d/<address>/ as a CA, plus a client certificate `*.cert` with its `*.key`.
 * Preflight probes the registry with the same trust, so a registry behind a private CA that
 * dockerd accepts is not reported as untrusted (issue 19 item 16). dockerd reads certs.d at
 * each push: a file put there works without a restart.
 */
import { rootCertificates } from 'node:tls';
import type { Host } from './host.js';

export const CERTS_D = '/etc/docker/certs.d';

/** The system CA bundle, as Go's crypto/x509 looks for it on Linux: the first that exists. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu
  '/etc/pki/tls/certs/ca-bundle.crt', // RHEL, Fedora
  '/etc/ssl/ca-bundle.pem', // SUSE
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];

export interface RegistryTrust {
  /** PEM CA certificates: the system's and the registry's certs.d ones. */
  ca: string[];
  /** A client certificate and key from certs.d, when there is one. */
  cert?: string;
  key?: string;
  /** The files read, for messages. */
  sources: string[];
}

/** The certs.d root: /etc/docker/certs.d, or in the test build a test's own directory. */
export function certsDRoot(): string {
  DMM_TEST_HOOKS: {
    const dir = process.env.DEVMAPPER_MIGRATE_TEST_CERTS_D;
    if (!dir) break DMM_TEST_HOOKS;
    return dir;
  }
  return CERTS_D;
}

/** The registry's certs.d directory: the address as given ("reg.corp:5000"), without a scheme. */
export function certsDirOf(address: string, root = certsDRoot()): string {
  const name = address.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return `${root}/${name}`;
}

/** The CAs and client certificate dockerd would use for `address`. */
export async function registryTrust(host: Host, address: string, root = certsDRoot()): Promise<RegistryTrust> {
  const sources: string[] = [];
  const ca: string[] = [];
  for (const bundle of SYSTEM_BUNDLES) {
    const text = await host.readFile(bundle);
    if (text === undefined) continue;
    ca.push(text);
    sources.push(bundle);
    break;
  }
  // No bundle where Go looks: dockerd would have its own troubles; Node's list is the best guess.
  if (!ca.length) ca.push(...rootCertificates);
  const dir = certsDirOf(address, root);
  const names = ((await host.listDir(dir)) ?? []).sort();
  const trust: RegistryTrust = { ca, sources };
  for (const name of names) {
    const file = `${dir}/${name}`;
    if (name.endsWith('.crt')) {
      const text = await host.readFile(file);
      if (text === undefined) continue;
      ca.push(text);
      sources.push(file);
    } else if (name.endsWith('.cert') && trust.cert === undefined) {
      const keyFile = `${dir}/${name.slice(0, -'.cert'.length)}.key`;
      const [cert, key] = await Promise.all([host.readFile(file), host.readFile(keyFile)]);
      if (cert === undefined || key === undefined) continue;
      Object.assign(trust, { cert, key });
      sources.push(file, keyFile);
    }
  }
  return trust;
}
