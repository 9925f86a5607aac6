/**
 * The staged data-root of pre-staging (issue 20): put in place at the cutover by rename (it is
 * on the data-root's filesystem), and removed by rollback before it was. Nothing here copies.
 */
import path from 'node:path';
import { OperatorError } from '../errors.js';
import type { Host } from './host.js';

/** What the private daemon leaves that the host's daemon must make itself: its (empty) volume store and its network store (no bridge). */
const SIDE_DAEMON_STATE = ['volumes', 'network'];

/** Removes the side daemon's own volume and network stores from the staged root (it is stopped); idempotent. */
export async function dropSideDaemonState(host: Host, stagedRoot: string): Promise<void> {
  for (const name of SIDE_DAEMON_STATE) {
    const dir = path.join(stagedRoot, name);
    if (await host.stat(dir)) await removeTree(host, dir);
  }
}

/**
 * Puts the staged root at `to` (idempotent): one rename where the data-root was moved aside,
 * else (the data-root is a mount point, kept by moving its contents) each entry into it.
 */
export async function placeStagedRoot(host: Host, options: { from: string; to: string }): Promise<'renamed' | 'entries' | 'done'> {
  const { from, to } = options;
  const staged = await host.stat(from);
  const target = await host.stat(to);
  if (!staged) {
    if (target) return 'done';
    throw new OperatorError(`The staged data-root ${from} is missing, and nothing is at ${to}.`, 'Roll back (`devmapper-migrate rollback`): the old data-root is kept and goes back into place.');
  }
  if (!target) {
    await host.rename(from, to);
    return 'renamed';
  }
  for (const name of (await host.listDir(from)) ?? []) {
    if (await host.stat(path.join(to, name))) {
      throw new OperatorError(`${path.join(to, name)} is in the way of the staged data-root's ${name}.`, 'Move it out of the way, then resume, or roll back.');
    }
    await host.rename(path.join(from, name), path.join(to, name));
  }
  await host.rmdir(from);
  return 'entries';
}

/**
 * Removes a staged root that was never put in place, and the side daemon's runtime directory:
 * mounts a killed daemon left under them go first (deepest first), and `rm` never leaves the
 * filesystem it starts on. Idempotent.
 */
export async function removeStagedRoot(host: Host, options: { stagedRoot: string; runtimeDir: string }): Promise<void> {
  for (const dir of [options.stagedRoot, options.runtimeDir]) {
    await unmountUnder(host, dir);
    if (await host.stat(dir)) await removeTree(host, dir);
  }
}

/** Removes a stopped side daemon's runtime directory (mounts it left first); idempotent. */
export async function removeRuntimeDir(host: Host, runtimeDir: string): Promise<void> {
  await unmountUnder(host, runtimeDir);
  if (await host.stat(runtimeDir)) await removeTree(host, runtimeDir);
}

/** Every mount at or under `dir`, deepest first, unmounted (lazily when busy). */
export async function mountsUnder(host: Host, dir: string): Promise<string[]> {
  const text = (await host.readFile('/proc/self/mountinfo').catch(() => undefined)) ?? '';
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined)
    .map(unescape)
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

async function unmountUnder(host: Host, dir: string): Promise<void> {
  const mounts = [...new Set(await mountsUnder(host, onDisk(host, dir)))].sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    const result = await host.run('umount', [mountPoint], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) await host.run('umount', ['-l', mountPoint], { timeoutMs: 60_000 });
  }
}

async function removeTree(host: Host, dir: string): Promise<void> {
  const result = await host.run('rm', ['-rf', '--one-file-system', '--', onDisk(host, dir)], { timeoutMs: 600_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(`${dir} could not be removed: ${result.stderr.trim().split('\n').at(-1) ?? ''}`, `Remove it by hand (rm -rf ${dir}) once nothing uses it, then run rollback again.`);
  }
}

function onDisk(host: Host, hostPath: string): string {
  return host.root === '/' ? hostPath : path.join(host.root, hostPath);
}
