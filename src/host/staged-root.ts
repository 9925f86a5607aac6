/**
 * The staged data-root of pre-staging (issue 20): put in place at the cutover by rename (it is
 * on the data-root's filesystem), and removed by rollback before it was. Nothing here copies.
 */
import path from 'node:path';
import { OperatorError } from '../errors.js';
import type { Host } from './host.js';

/** What the private daemon leaves that the host's daemon must make itself: its (empty) volume store and its network store (no bridge). */
const SIDE_DAEMON_STATE = ['volumes', 'network'];

/**
 * Makes the staged root before the private dockerd does, like the data-root it will replace:
 * its mode and, where SELinux is on, its label (what dockerd then creates in it inherits that
 * label; a directory made under /var/lib would otherwise carry var_lib_t into the new data-root,
 * and containers would be denied their layers). Idempotent.
 */
export async function prepareStagedRoot(host: Host, options: { stagedRoot: string; dataRoot: string }): Promise<void> {
  if (await host.stat(options.stagedRoot)) return;
  const original = await host.stat(options.dataRoot);
  await host.mkdir(options.stagedRoot, { mode: original ? original.mode & 0o7777 : 0o711 });
  if (!(await host.stat('/sys/fs/selinux/enforce'))) return;
  const result = await host.run('chcon', [`--reference=${onDisk(host, options.dataRoot)}`, onDisk(host, options.stagedRoot)], { timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(
      `Could not give ${options.stagedRoot} the SELinux label of ${options.dataRoot}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
      `Run \`chcon --reference=${options.dataRoot} ${options.stagedRoot}\`, then resume; or set staging: off and run again after a rollback.`,
    );
  }
}

/** Removes the side daemon's own volume and network stores from the staged root (it is stopped); idempotent. */
export async function dropSideDaemonState(host: Host, stagedRoot: string): Promise<void> {
  for (const name of SIDE_DAEMON_STATE) {
    const dir = path.join(stagedRoot, name);
    if (await host.stat(dir)) await removeTree(host, dir);
  }
}

/** How the staged root is put in place; plain JSON, journalled before the move. */
export interface StagedPlacement {
  from: string;
  to: string;
  /** `rename`: the whole directory (the data-root was moved aside); `entries`: each entry into the data-root (a mount point, kept by moving its contents). */
  method: 'rename' | 'entries';
  /** `entries`: the names moved. */
  entries: string[];
}

/** Decides how to put the staged root in place (reads only): journal it, then call placeStagedRoot. */
export async function planStagedPlacement(host: Host, options: { from: string; to: string }): Promise<StagedPlacement> {
  const { from, to } = options;
  if (!(await host.stat(to))) return { from, to, method: 'rename', entries: [] };
  return { from, to, method: 'entries', entries: (await host.listDir(from)) ?? [] };
}

/** Puts the staged root in place as planned (idempotent): renames only, nothing copied. */
export async function placeStagedRoot(host: Host, placement: StagedPlacement): Promise<void> {
  const { from, to } = placement;
  if (!(await host.stat(from))) {
    if (await host.stat(to)) return; // placed before an interruption
    throw new OperatorError(`The staged data-root ${from} is missing, and nothing is at ${to}.`, 'Roll back (`devmapper-migrate rollback`): the old data-root is kept and goes back into place.');
  }
  if (placement.method === 'rename') {
    await host.rename(from, to);
    return;
  }
  for (const name of placement.entries) {
    if (!(await host.stat(path.join(from, name)))) continue; // moved before an interruption
    if (await host.stat(path.join(to, name))) {
      throw new OperatorError(`${path.join(to, name)} is in the way of the staged data-root's ${name}.`, 'Move it out of the way, then resume, or roll back.');
    }
    await host.rename(path.join(from, name), path.join(to, name));
  }
  await host.rmdir(from);
}

/** Takes a placed staged root back to where it was staged (idempotent), for its removal: only while no daemon has run on it. */
export async function unplaceStagedRoot(host: Host, placement: StagedPlacement): Promise<void> {
  const { from, to } = placement;
  if (placement.method === 'rename') {
    if (!(await host.stat(from)) && (await host.stat(to))) await host.rename(to, from);
    return;
  }
  if (!(await host.stat(from))) await host.mkdir(from, { mode: 0o711 });
  for (const name of placement.entries) {
    if ((await host.stat(path.join(to, name))) && !(await host.stat(path.join(from, name)))) await host.rename(path.join(to, name), path.join(from, name));
  }
}

export function stagedPlacementFrom(data: Record<string, unknown>): StagedPlacement {
  const { from, to, method, entries } = data;
  if (typeof from !== 'string' || typeof to !== 'string' || (method !== 'rename' && method !== 'entries') || !Array.isArray(entries)) {
    throw new Error('the journal entry of the staged data-root\'s placement is malformed');
  }
  return { from, to, method, entries: entries.map(String) };
}

/**
 * Removes a staged root that was never put in place, and the side daemon's runtime directory:
 * mounts a killed daemon left under them go first (deepest first), and `rm` never leaves the
 * filesystem it starts on. Idempotent.
 */
export async function removeStagedRoot(host: Host, options: { stagedRoot: string; runtimeDir: string }): Promise<void> {
  await unmountUnder(host, options.stagedRoot);
  if (await host.stat(options.stagedRoot)) await removeTree(host, options.stagedRoot);
  await removeRuntimeDir(host, options.runtimeDir);
}

/** Removes a stopped side daemon's runtime directory (mounts it left first), and its parent when that is left empty; idempotent. */
export async function removeRuntimeDir(host: Host, runtimeDir: string): Promise<void> {
  await unmountUnder(host, runtimeDir);
  if (await host.stat(runtimeDir)) await removeTree(host, runtimeDir);
  await removeIfEmpty(host, path.dirname(runtimeDir));
}

/** The runtime directories' base (/run/devmapper-migrate), made by the first side daemon: gone with the last. */
async function removeIfEmpty(host: Host, dir: string): Promise<void> {
  if (((await host.listDir(dir)) ?? ['?']).length === 0) await host.rmdir(dir).catch(() => undefined);
}

/** Every mount point at or under `dir` (/proc/self/mountinfo's fifth field, unescaped). */
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

/** Every mount at or under `dir` unmounted, deepest first (lazily when busy). */
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
