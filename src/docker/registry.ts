/**
 * Talking to a registry directly (Docker Registry HTTP API v2), for what the daemon does not
 * tell: whether the registry speaks HTTPS, HTTP or nothing (preflight).
 */
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { RegistryTrust } from '../host/registry-trust.js';
import type { DockerClient } from './client.js';
import { hostOfAddress, type DaemonRegistryConfig, type RegistryTransport, type RegistryTransportFacts } from '../config/registry-transport.js';

const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|HOSTNAME/;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  /** The CAs (and client certificate) to use instead of Node's bundled list: what dockerd trusts. */
  trust?: RegistryTrust;
  timeoutMs?: number;
}

function tlsOptions(options: RequestOptions): https.RequestOptions {
  const { trust } = options;
  return {
    rejectUnauthorized: true,
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
        method: 'GET',
        timeout: options.timeoutMs ?? 15_000,
        ...(url.startsWith('https:') ? tlsOptions(options) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // The /v2/ answer is small; a huge answer is not a registry's.
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

