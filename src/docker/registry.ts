/**
 * Talking to a registry directly (Docker Registry HTTP API v2), for what the daemon does not
 * tell: whether the registry speaks HTTPS, HTTP or nothing (preflight), and which manifest
 * digest it holds for a tag (proof that a push landed, and that it is still there on resume).
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { RegistryAuth } from '../config/registry-auth.js';
import type { RegistryTrust } from '../host/registry-trust.js';
import type { DockerClient } from './client.js';
import { hostOfAddress, type DaemonRegistryConfig, type RegistryTransport, type RegistryTransportFacts } from '../config/registry-transport.js';

/** Manifest types a push may have stored; the registry answers with the one it has. */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|HOSTNAME/;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  headers?: Record<string, string>;
  insecureTls?: boolean;
  /** The CAs (and client certificate) to use instead of Node's bundled list: what dockerd trusts. */
  trust?: RegistryTrust;
  timeoutMs?: number;
  method?: string;
}

function tlsOptions(options: RequestOptions): https.RequestOptions {
  const { trust } = options;
  return {
    rejectUnauthorized: !options.insecureTls,
    ...(trust && { ca: trust.ca }),
    ...(trust?.cert !== undefined && trust.key !== undefined && { cert: trust.cert, key: trust.key }),
  };
}

function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        timeout: options.timeoutMs ?? 15_000,
        ...(url.startsWith('https:') ? tlsOptions(options) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // A manifest or a token is small; a huge answer is not one.
          if (size > 16 << 20) req.destroy(new Error(`${url} answered with more than 16 MiB`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${url}`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * What a registry speaks, found by asking `/v2/` over HTTPS, then HTTPS unverified, then HTTP.
 * HTTPS is checked against `trust` (what dockerd trusts for this registry: the system store and
 * its certs.d directory), not Node's bundled CA list.
 */
export async function probeRegistry(address: string, trust?: RegistryTrust, timeoutMs = 10_000): Promise<{ transport: RegistryTransport; detail?: string }> {
  const base = address.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  let tlsFailure: string | undefined;
  try {
    await request(`https://${base}/v2/`, { timeoutMs, trust });
    return { transport: 'https' };
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      return { transport: 'unreachable', detail: code };
    }
    // A certificate was checked, so the registry speaks TLS; one we do not trust.
    if (CERT_ERRORS.test(code)) return { transport: 'https-untrusted', detail: code };
    tlsFailure = code;
  }
  try {
    const reply = await request(`http://${base}/v2/`, { timeoutMs });
    // Go's TLS server answers plain HTTP with this 400: the registry does speak TLS, but the
    // handshake failed for another reason (most often a client certificate it wants).
    if (reply.status === 400 && /HTTP request to an HTTPS server/i.test(reply.body.toString('utf8'))) {
      return { transport: 'https-untrusted', detail: `TLS handshake failed: ${tlsFailure ?? 'unknown'}` };
    }
    return { transport: 'http' };
  } catch (error) {
    return { transport: 'unreachable', detail: errorCode(error) };
  }
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : typeof e.message === 'string' ? e.message : String(error);
}

/** The registry host's IP addresses (empty when it does not resolve). */
export async function resolveRegistryIps(address: string): Promise<string[]> {
  const host = hostOfAddress(address);
  if (isIP(host)) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/** The daemon's insecure-registry settings (`GET /info` RegistryConfig). */
export async function daemonRegistryConfig(client: DockerClient): Promise<DaemonRegistryConfig> {
  const info = (await client.api.info()) as {
    RegistryConfig?: { InsecureRegistryCIDRs?: string[] | null; IndexConfigs?: Record<string, { Secure?: boolean }> | null };
  };
  const indexConfigs: Record<string, { secure: boolean }> = {};
  for (const [name, config] of Object.entries(info.RegistryConfig?.IndexConfigs ?? {})) indexConfigs[name] = { secure: config.Secure !== false };
  return { insecureRegistryCidrs: info.RegistryConfig?.InsecureRegistryCIDRs ?? [], indexConfigs };
}

/** What `checkRegistryTransport` judges: what the registry speaks, its addresses, and what the daemon allows. */
export async function registryTransportFacts(
  system: { registryConfig(): Promise<DaemonRegistryConfig> },
  address: string,
  trust?: RegistryTrust,
): Promise<RegistryTransportFacts> {
  const [probe, resolvedIps, daemon] = await Promise.all([probeRegistry(address, trust), resolveRegistryIps(address), system.registryConfig()]);
  return { ...probe, resolvedIps, daemon };
}

export interface ManifestQuery {
  address: string;
  /** The repository path inside the registry ("migrated/app/web"). */
  repository: string;
  /** A tag or a digest. */
  reference: string;
  auth?: RegistryAuth;
  /** "http" for a plain-HTTP registry; default "https". */
  scheme?: 'http' | 'https';
  /** Accept a certificate this host does not trust (an insecure registry). */
  insecureTls?: boolean;
}

/**
 * The digest of the manifest the registry holds for a tag (its Docker-Content-Digest, else the
 * sha256 of the manifest's bytes), or undefined when it has none. Speaks basic auth and the
 * bearer-token handshake.
 */
export async function registryManifestDigest(query: ManifestQuery): Promise<string | undefined> {
  const base = `${query.scheme ?? 'https'}://${query.address.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')}`;
  const url = `${base}/v2/${query.repository}/manifests/${query.reference}`;
  const headers: Record<string, string> = { Accept: MANIFEST_TYPES };
  const basic = basicAuth(query.auth);
  if (basic) headers.Authorization = basic;
  let reply = await request(url, { headers, insecureTls: query.insecureTls });
  if (reply.status === 401) {
    const challenge = String(reply.headers['www-authenticate'] ?? '');
    if (/^bearer /i.test(challenge)) {
      const token = await bearerToken(challenge, query);
      reply = await request(url, { headers: { Accept: MANIFEST_TYPES, Authorization: `Bearer ${token}` }, insecureTls: query.insecureTls });
    }
  }
  if (reply.status === 404) return undefined;
  if (reply.status === 401 || reply.status === 403) {
    throw new Error(`The registry ${query.address} refused ${query.auth?.username ? `user ${query.auth.username}` : 'anonymous access'} (HTTP ${reply.status}).`);
  }
  if (reply.status !== 200) throw new Error(`The registry ${query.address} answered HTTP ${reply.status} for ${query.repository}:${query.reference}.`);
  const header = reply.headers['docker-content-digest'];
  if (typeof header === 'string' && header.startsWith('sha256:')) return header;
  return `sha256:${createHash('sha256').update(reply.body).digest('hex')}`;
}

function basicAuth(auth: RegistryAuth | undefined): string | undefined {
  if (!auth?.username || auth.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** A token from the realm a bearer challenge names (the distribution token protocol). */
async function bearerToken(challenge: string, query: ManifestQuery): Promise<string> {
  const params: Record<string, string> = {};
  for (const match of challenge.slice('bearer '.length).matchAll(/(\w+)="([^"]*)"/g)) params[match[1] as string] = match[2] as string;
  if (!params.realm) throw new Error(`The registry ${query.address} asked for a token without saying where to get one.`);
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.set('scope', params.scope ?? `repository:${query.repository}:pull`);
  const headers: Record<string, string> = {};
  const basic = basicAuth(query.auth);
  if (basic) headers.Authorization = basic;
  const reply = await request(url.toString(), { headers, insecureTls: query.insecureTls });
  if (reply.status !== 200) throw new Error(`The registry's token service refused ${query.auth?.username ? `user ${query.auth.username}` : 'anonymous access'} (HTTP ${reply.status}).`);
  const body = JSON.parse(reply.body.toString('utf8')) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`The registry's token service gave no token.`);
  return token;
}
