// A private image registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1, with
// htpasswd (bcrypt) auth when asked. 127.0.0.0/8 registries are insecure by default for
// dockerd, so pushes need no TLS.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ImageRef } from '../../src/docker/image-ref.js';
import { removeTree } from './mounts.js';
import { freePort } from './net.js';
import { RIG_DIR, ensureRigDir, writeOwner } from './paths.js';
import { cmdline, isAlive, runOk, sleep, terminate } from './proc.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryOptions {
  /** Require htpasswd logins (default true). */
  auth?: boolean;
  ownerPid?: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** Serve HTTPS with these PEM files; with clientCas, require a client certificate signed by one of them. */
  tls?: { certificate: string; key: string; clientCas?: string[] };
}

/** What a test needs to use the registry (plain data). */
export interface RegistryInfo {
  /** "127.0.0.1:PORT" */
  address: string;
  /** Empty when the registry has no auth. */
  username: string;
  password: string;
  dir: string;
}

export interface RegistryHandle extends RegistryInfo {
  stop(): Promise<void>;
  info(): RegistryInfo;
}

const PID_FILE = 'registry.pid';

function configYaml(dir: string, address: string, auth: boolean, tls: RegistryOptions['tls']): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${address}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.certificate}`, `    key: ${tls.key}`, ...(tls.clientCas ? ['    clientcas:', ...tls.clientCas.map((ca) => `      - ${ca}`)] : [])] : []),
    ...(auth ? ['auth:', '  htpasswd:', '    realm: dmm-rig', `    path: ${join(dir, 'htpasswd')}`] : []),
    '',
  ].join('\n');
}

/** 401 (auth wanted) or 200 on /v2/ means the registry serves; with TLS, a port that accepts connections. */
async function answers(address: string, tls: boolean): Promise<boolean> {
  if (tls) return listening(address);
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

function listening(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a registry on a free 127.0.0.1 port and waits until it serves /v2/. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryHandle> {
  const auth = options.auth ?? true;
  ensureRigDir();
  const dir = mkdtempSync(join(RIG_DIR, 'reg-'));
  writeOwner(dir, 'registry', 'registry', options.ownerPid);
  const username = auth ? 'dmm-test' : '';
  const password = auth ? randomBytes(12).toString('hex') : '';
  try {
    mkdirSync(join(dir, 'data'));
    if (auth) {
      const entry = await runOk('htpasswd', ['-Bbn', username, password]);
      writeFileSync(join(dir, 'htpasswd'), entry.trim() + '\n', { mode: 0o600 });
    }
    // A port can be taken between choosing and binding: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const address = `${options.host ?? '127.0.0.1'}:${port}`;
      writeFileSync(join(dir, 'config.yml'), configYaml(dir, address, auth, options.tls));
      const log = openSync(join(dir, 'registry.log'), 'a');
      const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
        detached: true,
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      child.unref();
      const pid = child.pid!;
      writeFileSync(join(dir, PID_FILE), `${pid}\n`);
      for (let i = 0; i < 100 && isAlive(pid); i++) {
        if (await answers(address, options.tls !== undefined)) {
          const info: RegistryInfo = { address, username, password, dir };
          return { ...info, stop: () => teardownRegistryDir(dir), info: () => ({ ...info }) };
        }
        await sleep(100);
      }
      await terminate([pid], 5_000);
    }
    throw new Error(`docker-registry did not start; see ${join(dir, 'registry.log')}:\n${readLog(dir)}`);
  } catch (error) {
    const log = readLog(dir);
    await teardownRegistryDir(dir).catch(() => undefined);
    throw new Error(`${(error as Error).message}\n${log}`);
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'registry.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** Stops a registry started by the rig and deletes its directory (used by the sweeper too). */
export async function teardownRegistryDir(dir: string): Promise<void> {
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(dir, PID_FILE), 'utf8').trim());
  } catch {
    pid = undefined;
  }
  if (pid && isAlive(pid) && cmdline(pid).includes(dir + '/')) await terminate([pid], 10_000);
  await removeTree(dir);
}

/**
 * The registry's own answer for a pushed "host:port/repository:tag", asked of `registry` itself
 * (also when the ref names a gate in front of it): Docker-Content-Digest of
 * GET /v2/<repository>/manifests/<tag>, or "HTTP <status>". The test's own check, not the tool's.
 */
export async function manifestDigestOf(registry: RegistryInfo, ref: string): Promise<string> {
  const { path: repository, tagOrLatest: tag } = ImageRef.parse(ref);
  const headers: Record<string, string> = { Accept: 'application/vnd.docker.distribution.manifest.v2+json' };
  if (registry.username) headers.Authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
  const res = await fetch(`http://${registry.address}/v2/${repository}/manifests/${tag}`, { headers });
  await res.arrayBuffer();
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? 'no digest header') : `HTTP ${res.status}`;
}
