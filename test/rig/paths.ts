// Where the rig keeps things, and who owns each of them. Every daemon or registry the rig
// starts lives in its own directory under RIG_DIR with an owner record: the sweeper cleans a
// directory only when its owner process is gone (a crashed earlier run), never one in use.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, processStartTime } from './proc.js';

/** The rig's temp prefix; kept short because unix socket paths are limited to 107 bytes. */
export const RIG_DIR = process.env.DMM_RIG_DIR || join(tmpdir(), 'dmm-rig');

/** The repository root (this file is test/rig/paths.ts, or .cache/rig-cli.mjs when bundled). */
export const REPO_ROOT = findRepoRoot();

/** Git-ignored cache for things worth keeping between runs (the busybox root tarball). */
export const CACHE_DIR = join(REPO_ROOT, '.cache');

export const DOCKER_CLIENT = '/usr/bin/docker';
export const DOCKERD = '/usr/sbin/dockerd';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'devmapper-migrate') return dir;
    } catch {
      // Not here; look one level up.
    }
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

export type ResourceKind = 'daemon' | 'registry';

export interface OwnerRecord {
  kind: ResourceKind;
  name: string;
  /** The process whose life this resource is tied to, and its start time (pids are reused). */
  ownerPid: number;
  ownerStartTime: string;
  createdAt: string;
}

const OWNER_FILE = 'owner.json';

/** Records who owns a rig directory; ownerPid defaults to this process. */
export function writeOwner(dir: string, kind: ResourceKind, name: string, ownerPid = process.pid): void {
  const record: OwnerRecord = {
    kind,
    name,
    ownerPid,
    ownerStartTime: processStartTime(ownerPid) ?? '',
    createdAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(record, null, 2) + '\n');
}

export function readOwner(dir: string): OwnerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
}

/** True when the directory's owner process still runs. */
export function ownerAlive(dir: string): boolean {
  const owner = readOwner(dir);
  return owner !== undefined && isAlive(owner.ownerPid, owner.ownerStartTime || undefined);
}

export function ensureRigDir(): void {
  mkdirSync(RIG_DIR, { recursive: true, mode: 0o755 });
}
