import path from 'node:path';
import { OperatorError } from '../errors.js';
import { writeFileDurably } from '../fs/atomic-file.js';
import type { FileStat, Host } from './host.js';

/**
 * Keeping the old data-root during the cutover, and putting it back on rollback.
 *
 * `move` renames it aside: one rename(2) on the same filesystem, instant whatever its size,
 * and the sparse loop-lvm files are not touched. A data-root that is itself a mount point
 * cannot be renamed (EBUSY), so its *contents* move into a directory inside it. Volumes live
 * under `<data-root>/volumes`, outside the thin pool: they are carried to the new data-root
 * by rename too (downtime does not grow with their size), and carried back on rollback with
 * what the containers wrote meanwhile. Nothing here copies bytes unless told to, and nothing
 * deletes.
 *
 * Every change is described first (`planKeepDataRoot`, `carryPlan`) so the caller can journal
 * it *before* making it; the apply functions are idempotent, so a resumed step can run again.
 */

/** How the old data-root was kept; plain JSON, for the state journal. */
export interface KeptDataRoot {
  /** The data-root as configured (may be a symlink). */
  dataRoot: string;
  /** The real directory (symlinks resolved): what was moved. */
  path: string;
  runId: string;
  /** `sibling`: `path` renamed to `keptPath`; `contents`: its entries moved into `keptPath` inside it. */
  method: 'sibling' | 'contents';
  keptPath: string;
  /** `contents`: the entries moved, by name. */
  entries: string[];
  /** `contents`: entries left where they are (lost+found, other runs' kept directories). */
  leftInPlace: string[];
  /** Identity and ownership of the data-root directory before the move, to recognise it and recreate it alike. */
  original: { dev: number; ino: number; mode: number; uid: number; gid: number };
}

/** What restoreDataRoot did with the new data-root (the target driver's): kept aside, never deleted. */
export interface RestoredDataRoot {
  alreadyRestored: boolean;
  /** Where the new data-root's content went, when there was any. */
  newDataRootKeptAt?: string;
}

const KEPT_PREFIX = '.devmapper-migrate-';

/** Where a run keeps a data-root that is not a mount point: a sibling on the same filesystem. */
export function siblingKeptPath(dataRootPath: string, runId: string): string {
  return `${dataRootPath}.devmapper-migrate-${runId}`;
}

/** Decides how to keep the data-root (reads only): journal the result, then call keepDataRoot. */
export async function planKeepDataRoot(host: Host, options: { dataRoot: string; runId: string }): Promise<KeptDataRoot> {
  const { dataRoot, runId } = options;
  if (!/^[\w.-]+$/.test(runId)) throw new Error(`run id "${runId}" is not usable in a file name`);
  const real = await host.realpath(dataRoot);
  const stat = real === undefined ? undefined : await host.stat(real);
  if (real === undefined || stat?.kind !== 'directory') {
    throw new OperatorError(`The data-root ${dataRoot} does not exist or is not a directory.`, 'Check data-root in daemon.json (or the -g/--data-root flag) and `docker info`’s Docker Root Dir.');
  }
  if (real === '/') throw new OperatorError('The data-root is "/": it cannot be moved aside.', 'Give Docker its own data-root directory first.');
  const parent = await host.stat(path.dirname(real));
  const table = await mountTable(host);
  const mounts = new Set(table.map((entry) => entry.mountPoint));
  const original = { dev: stat.dev, ino: stat.ino, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
  // dockerd's own bind mount of the data-root onto itself (see releaseLeftoverBind) is not the operator's mount.
  const isMountPoint = parent === undefined || parent.dev !== stat.dev || realMountsAt(table, real) > 0;
  if (!isMountPoint) {
    return { dataRoot, path: real, runId, method: 'sibling', keptPath: siblingKeptPath(real, runId), entries: [], leftInPlace: [], original };
  }
  const keptName = `${KEPT_PREFIX}${runId}`;
  const names = (await host.listDir(real)) ?? [];
  const leftInPlace = names.filter((name) => name === 'lost+found' || name.startsWith(KEPT_PREFIX));
  const entries = names.filter((name) => !leftInPlace.includes(name));
  const mounted = entries.filter((name) => mounts.has(path.join(real, name)));
  if (mounted.length > 0) {
    throw new OperatorError(
      `${mounted.map((name) => path.join(real, name)).join(', ')} ${mounted.length > 1 ? 'are mount points' : 'is a mount point'} inside the data-root, which is itself a mount point: it cannot be moved aside by rename.`,
      'Unmount it (and remove it from /etc/fstab for now), or choose backup.dataRoot: archive, then run again.',
    );
  }
  return { dataRoot, path: real, runId, method: 'contents', keptPath: path.join(real, keptName), entries, leftInPlace, original };
}

/** Moves the data-root aside as planned (idempotent); returns the plan. */
export async function keepDataRoot(host: Host, kept: KeptDataRoot): Promise<KeptDataRoot> {
  await releaseLeftoverBind(host, kept.path);
  if (kept.method === 'sibling') {
    const current = await host.stat(kept.path);
    const aside = await host.stat(kept.keptPath);
    if (aside && isOriginal(aside, kept)) return kept; // done already
    if (aside) throw new OperatorError(`${kept.keptPath} already exists and is not this run's kept data-root.`, 'Move it out of the way, then resume.');
    if (!current || !isOriginal(current, kept)) {
      throw new OperatorError(`${kept.path} is no longer the data-root this run saw, and ${kept.keptPath} does not exist.`, 'Look at both paths; restore the data-root by hand, then run rollback or resume.');
    }
    await renameExplained(host, kept.path, kept.keptPath);
    return kept;
  }
  if (!(await host.stat(kept.keptPath))) await host.mkdir(kept.keptPath, { mode: 0o700 });
  for (const name of kept.entries) {
    const from = path.join(kept.path, name);
    const to = path.join(kept.keptPath, name);
    if (await host.stat(to)) continue; // moved before an interruption
    if (!(await host.stat(from))) continue; // gone meanwhile: nothing to keep
    await renameExplained(host, from, to);
  }
  return kept;
}

/** Puts the old data-root back (idempotent); the new one's content is kept aside, never deleted. Carry volumes back first. */
export async function restoreDataRoot(host: Host, kept: KeptDataRoot): Promise<RestoredDataRoot> {
  // A target daemon that failed to start leaves its bind mount of the data-root behind.
  await releaseLeftoverBind(host, kept.path);
  const volumesBack = path.join(kept.path, 'volumes');
  const volumesKept = path.join(kept.keptPath, 'volumes');
  if (kept.method === 'sibling') {
    const current = await host.stat(kept.path);
    if (current && isOriginal(current, kept)) return { alreadyRestored: true };
    if (!(await host.stat(kept.keptPath))) {
      throw new OperatorError(`The kept data-root ${kept.keptPath} is missing.`, `Find it (it was ${kept.path}), put it back at ${kept.path}, then run rollback again.`);
    }
    await refuseUncarriedVolumes(host, volumesBack, volumesKept, kept);
    let newDataRootKeptAt: string | undefined;
    if (current) {
      if (((await host.listDir(kept.path)) ?? []).length === 0) await host.rmdir(kept.path);
      else {
        newDataRootKeptAt = await freePath(host, `${kept.keptPath}.target`);
        await renameExplained(host, kept.path, newDataRootKeptAt);
      }
    }
    await renameExplained(host, kept.keptPath, kept.path);
    return { alreadyRestored: false, newDataRootKeptAt };
  }

  if (!(await host.stat(kept.keptPath))) {
    const allBack = await everyExists(host, kept.entries.map((name) => path.join(kept.path, name)));
    if (allBack) return { alreadyRestored: true };
    throw new OperatorError(`The kept data-root ${kept.keptPath} is missing.`, `Find the old data-root's content and put it back in ${kept.path}, then run rollback again.`);
  }
  await refuseUncarriedVolumes(host, volumesBack, volumesKept, kept);
  const keptName = path.basename(kept.keptPath);
  const present = (await host.listDir(kept.path)) ?? [];
  const keptInside = new Set((await host.listDir(kept.keptPath)) ?? []);
  // What the target daemon wrote: everything that is not ours, not lost+found, not an old entry already back.
  const newContent = present.filter(
    (name) => name !== keptName && !kept.leftInPlace.includes(name) && !name.startsWith(KEPT_PREFIX) && !(kept.entries.includes(name) && !keptInside.has(name)),
  );
  let newDataRootKeptAt: string | undefined;
  if (newContent.length > 0) {
    newDataRootKeptAt = await freePath(host, path.join(kept.path, `${keptName}.target`));
    await host.mkdir(newDataRootKeptAt, { mode: 0o700 });
    for (const name of newContent) await renameExplained(host, path.join(kept.path, name), path.join(newDataRootKeptAt, name));
  }
  for (const name of kept.entries) {
    if (!keptInside.has(name)) continue;
    await renameExplained(host, path.join(kept.keptPath, name), path.join(kept.path, name));
  }
  if (((await host.listDir(kept.keptPath)) ?? []).length === 0) await host.rmdir(kept.keptPath);
  return { alreadyRestored: false, newDataRootKeptAt };
}

/** The volumes directories of a kept data-root: where they were kept and where the new daemon wants them. */
export function volumesPaths(kept: KeptDataRoot): { kept: string; current: string } {
  return { kept: path.join(kept.keptPath, 'volumes'), current: path.join(kept.path, 'volumes') };
}

/** How the volumes were carried; plain JSON, for the state journal. */
export interface CarriedVolumes {
  from: string;
  to: string;
  /** `none`: there was no volumes directory. */
  method: 'rename' | 'copy' | 'none';
  /** When `to`'s parent (the new data-root) had to be created: its mode and owner. */
  createdParent?: { mode: number; uid: number; gid: number };
}

export interface CarryOptions {
  from: string;
  to: string;
  /** Copy (cp -a) when a rename cannot work (another filesystem); off by default: it grows downtime. */
  allowCopy?: boolean;
  /** Mode and owner for the new data-root when it has to be created (the old one's). */
  parentMode?: { mode: number; uid: number; gid: number };
}

/** Decides how to carry the volumes (reads only): journal the result, then call carryVolumes. */
export async function carryPlan(host: Host, options: CarryOptions): Promise<CarriedVolumes> {
  const source = await host.stat(options.from);
  const target = await host.stat(options.to);
  if (!source) {
    // Nothing to carry, or carried already (a resumed step).
    return { from: options.from, to: options.to, method: target ? 'rename' : 'none' };
  }
  const sameFs = await sameFilesystem(host, options.from, path.dirname(options.to));
  if (!sameFs && !options.allowCopy) {
    throw new OperatorError(
      `${options.from} is on another filesystem than ${path.dirname(options.to)} (or is a mount point of its own): the volumes cannot be carried by rename, and copying them would make the downtime grow with their size.`,
      `Mount that filesystem at ${options.to} instead (umount ${options.from}; mount it at ${options.to}), or allow a copy, then resume.`,
    );
  }
  const parent = await host.stat(path.dirname(options.to));
  return {
    from: options.from,
    to: options.to,
    method: sameFs ? 'rename' : 'copy',
    ...(parent ? {} : { createdParent: options.parentMode ?? { mode: 0o711, uid: 0, gid: 0 } }),
  };
}

/** carryPlan for a kept data-root: from its kept volumes to the new data-root, which is made like the old one. */
export function carryPlanFor(host: Host, kept: KeptDataRoot, options: { allowCopy?: boolean } = {}): Promise<CarriedVolumes> {
  const paths = volumesPaths(kept);
  const { mode, uid, gid } = kept.original;
  return carryPlan(host, { from: paths.kept, to: paths.current, allowCopy: options.allowCopy, parentMode: { mode, uid, gid } });
}

/** Carries the volumes directory to the new data-root by rename (or copy when planned so); idempotent. */
export async function carryVolumes(host: Host, carried: CarriedVolumes): Promise<CarriedVolumes> {
  if (carried.method === 'none') return carried;
  await releaseLeftoverBind(host, path.dirname(carried.to));
  const source = await host.stat(carried.from);
  if (!source) {
    if (await host.stat(carried.to)) return carried; // done already
    throw new OperatorError(`Neither ${carried.from} nor ${carried.to} exists: the volumes are not where this run left them.`, 'Find the volumes directory and put it at the new path, then resume.');
  }
  const parent = path.dirname(carried.to);
  if (!(await host.stat(parent))) {
    await host.mkdir(parent, carried.createdParent ?? { mode: 0o711 });
    await copySelinuxLabel(host, path.dirname(carried.from), parent);
  }
  await makeRoomFor(host, carried.to);
  if (carried.method === 'rename') await renameExplained(host, carried.from, carried.to);
  else await copyTree(host, carried.from, carried.to);
  return carried;
}

/**
 * Carries the volumes back to the kept data-root for rollback, with what the containers wrote
 * after the cutover (idempotent). After a copy, the old copy is kept aside, not overwritten.
 */
export async function carryVolumesBack(host: Host, carried: CarriedVolumes): Promise<{ supersededAt?: string }> {
  // A target daemon that failed to start leaves its bind mount of the data-root behind, and a
  // rename out of a mount is EXDEV even on one filesystem.
  await releaseLeftoverBind(host, path.dirname(carried.to));
  const current = await host.stat(carried.to);
  const kept = await host.stat(carried.from);
  // `none`: the old data-root had no volumes directory; one the new daemon made goes back too.
  if (carried.method === 'none' && !current) return {};
  if (carried.method !== 'copy') {
    if (!current) {
      if (kept) return {}; // carried back already
      throw new OperatorError(`Neither ${carried.to} nor ${carried.from} exists: the volumes are not where this run left them.`, `Find the volumes directory and put it at ${carried.from}, then run rollback again.`);
    }
    if (kept) await makeRoomFor(host, carried.from);
    await renameExplained(host, carried.to, carried.from);
    return {};
  }
  if (!current) return {};
  let supersededAt: string | undefined;
  if (kept) {
    if ((await mountPoints(host)).has((await host.realpath(carried.from)) ?? carried.from)) {
      throw new OperatorError(
        `${carried.from} is a mount point: the old copy of the volumes cannot be moved aside to make room for the current ones (${carried.to}).`,
        `Copy ${carried.to} back into it by hand (e.g. rsync -aHAX --delete ${carried.to}/ ${carried.from}/), or unmount it, then run rollback again.`,
      );
    }
    supersededAt = await freePath(host, `${carried.from}.before-rollback`);
    await renameExplained(host, carried.from, supersededAt);
  }
  await copyTree(host, carried.to, carried.from);
  return { supersededAt };
}

/** Archive of the data-root: where it went and how big it is. */
export interface DataRootArchive {
  path: string;
  bytes: number;
  /** The data-root's allocated size (du, sparse-aware) that the space check used. */
  dataRootBytes: number;
  /** The tar command, readable, for the log. */
  command: string;
  /** tar's warnings (exit 1: a file changed while it was read). */
  warnings: string[];
}

/**
 * A GNU tar of the data-root into `archivePath`, sparse-aware and with xattrs, SELinux labels
 * and ACLs where tar supports them, after checking the space. Written under a `.partial` name,
 * fsynced and renamed when complete, so a half archive never looks whole.
 */
export async function archiveDataRoot(host: Host, options: { dataRoot: string; archivePath: string }): Promise<DataRootArchive> {
  const real = (await host.realpath(options.dataRoot)) ?? options.dataRoot;
  const archiveDir = path.dirname(options.archivePath);
  const realArchiveDir = (await host.realpath(archiveDir)) ?? archiveDir;
  if (realArchiveDir === real || realArchiveDir.startsWith(`${real}/`)) {
    throw new OperatorError(`The archive ${options.archivePath} would be inside the data-root ${real}, which it archives.`, 'Set backup.directory to a directory outside the data-root.');
  }
  const version = await host.run('tar', ['--version'], { timeoutMs: 10_000 });
  if (version.exitCode !== 0 || !/GNU tar/.test(version.stdout)) {
    throw new OperatorError('backup.dataRoot archive needs GNU tar (for --sparse and extended attributes), and `tar` here is not GNU tar.', 'Install GNU tar, or use backup.dataRoot: move.');
  }
  const help = (await host.run('tar', ['--help'], { timeoutMs: 10_000 })).stdout;
  const du = await host.run('du', ['-s', '-x', '-B1', onDisk(host, real)]);
  const dataRootBytes = Number.parseInt(du.stdout.trim().split(/\s+/)[0] ?? '', 10);
  if (du.exitCode !== 0 || !Number.isFinite(dataRootBytes)) {
    throw new OperatorError(`Could not measure the data-root ${real}: ${du.stderr.trim()}`, 'Check that du works on it, then resume.');
  }
  await host.mkdir(archiveDir);
  const space = await host.statfs(archiveDir);
  // tar adds headers and sparse maps; a margin keeps the filesystem from filling to the last block.
  const needed = Math.ceil(dataRootBytes * 1.05) + 64 * 1024 * 1024;
  if (space && space.availableBytes < needed) {
    throw new OperatorError(
      `Not enough space for the data-root archive in ${archiveDir}: it needs about ${gib(needed)}, ${gib(space.availableBytes)} is free.`,
      'Free space there, set backup.directory to a larger filesystem, or use backup.dataRoot: move.',
    );
  }
  const supports = (flag: string) => help.includes(flag);
  const args = (partial: string) => [
    '--create',
    '--file',
    partial,
    '--sparse',
    '--numeric-owner',
    '--one-file-system',
    ...(supports('--xattrs') ? ['--xattrs', '--xattrs-include=*'] : []),
    ...(supports('--selinux') ? ['--selinux'] : []),
    ...(supports('--acls') ? ['--acls'] : []),
    '--directory',
    onDisk(host, real),
    '.',
  ];
  const { result, command } = await writeFileDurably(onDisk(host, options.archivePath), async (partial) => {
    const tar = await host.run('tar', args(partial));
    if (tar.exitCode !== 0 && tar.exitCode !== 1) {
      throw new OperatorError(`tar of the data-root failed (exit ${tar.exitCode}): ${lastLine(tar.stderr)}`, 'Look at the message (the incomplete archive was deleted), then resume.');
    }
    return { result: tar, command: `tar ${args(partial).join(' ')}` };
  });
  const stat = await host.stat(options.archivePath);
  return {
    path: options.archivePath,
    bytes: stat?.size ?? 0,
    dataRootBytes,
    command,
    warnings: result.exitCode === 1 ? result.stderr.split('\n').filter(Boolean) : [],
  };
}

/** Reads a KeptDataRoot back from a journal entry's data, checking its shape. */
export function keptDataRootFrom(data: Record<string, unknown>): KeptDataRoot {
  const ok =
    typeof data.dataRoot === 'string' &&
    typeof data.path === 'string' &&
    typeof data.keptPath === 'string' &&
    (data.method === 'sibling' || data.method === 'contents') &&
    Array.isArray(data.entries) &&
    typeof data.original === 'object' &&
    data.original !== null;
  if (!ok) throw new Error('journal entry does not describe a kept data-root');
  return data as unknown as KeptDataRoot;
}

/** Reads a CarriedVolumes back from a journal entry's data, checking its shape. */
export function carriedVolumesFrom(data: Record<string, unknown>): CarriedVolumes {
  const ok = typeof data.from === 'string' && typeof data.to === 'string' && ['rename', 'copy', 'none'].includes(String(data.method));
  if (!ok) throw new Error('journal entry does not describe carried volumes');
  return data as unknown as CarriedVolumes;
}

function isOriginal(stat: FileStat, kept: KeptDataRoot): boolean {
  return stat.dev === kept.original.dev && stat.ino === kept.original.ino;
}

/** Refuses to restore while the volumes are still in the new data-root: they would be moved aside with it. */
async function refuseUncarriedVolumes(host: Host, inNew: string, inKept: string, kept: KeptDataRoot): Promise<void> {
  if ((await host.stat(inNew)) && !(await host.stat(inKept))) {
    throw new OperatorError(
      `The volumes are still in the new data-root (${inNew}), not back in the kept one (${inKept}).`,
      `Carry them back first (rename ${inNew} to ${inKept}), then run rollback again. The kept data-root of run ${kept.runId} is untouched.`,
    );
  }
}

/** A path that does not exist yet: the given one, else with -2, -3, ... */
async function freePath(host: Host, wanted: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? wanted : `${wanted}-${n}`;
    if (!(await host.stat(candidate))) return candidate;
  }
}

/** An empty directory in the way (the new daemon made one) goes; anything else stops us. */
async function makeRoomFor(host: Host, target: string): Promise<void> {
  const stat = await host.stat(target);
  if (!stat) return;
  const entries = stat.kind === 'directory' ? await host.listDir(target) : undefined;
  if (entries && entries.length === 0) {
    await host.rmdir(target);
    return;
  }
  throw new OperatorError(`${target} already exists and is not empty: the volumes cannot be carried there without mixing two sets.`, `Look at ${target}; move it aside by hand, then resume.`);
}

async function sameFilesystem(host: Host, source: string, targetDir: string): Promise<boolean> {
  const sourceStat = await host.stat(source);
  const sourceParent = await host.stat(path.dirname(source));
  // The target's parent may not exist yet (the new data-root): its own parent then decides.
  let dir = targetDir;
  let target = await host.stat(dir);
  while (!target && dir !== '/') {
    dir = path.dirname(dir);
    target = await host.stat(dir);
  }
  if (!sourceStat || !sourceParent || !target) return false;
  // A source that is a mount point of its own cannot be renamed even within one device.
  const mounts = await mountPoints(host);
  const realSource = (await host.realpath(source)) ?? source;
  return sourceStat.dev === sourceParent.dev && sourceStat.dev === target.dev && !mounts.has(realSource);
}

async function renameExplained(host: Host, from: string, to: string): Promise<void> {
  try {
    await host.rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const remedy: Record<string, string> = {
      EXDEV: `${from} and ${to} are on different filesystems; a rename cannot cross them.`,
      EBUSY: `${from} is busy: a mount point, or in use (a process's working directory). Check \`findmnt\` and \`fuser -vm ${from}\`.`,
      EPERM: `${from} may be immutable: check \`lsattr -d ${from}\` and remove the flag with \`chattr -i\`.`,
      EACCES: `Permission denied: run as root.`,
      ENOTEMPTY: `${to} already exists and is not empty.`,
      EEXIST: `${to} already exists.`,
    };
    throw new OperatorError(`Could not rename ${from} to ${to}: ${(error as Error).message}`, `${remedy[code ?? ''] ?? 'Look at the message.'} Then resume.`);
  }
}

/**
 * Gives a directory we created the SELinux label of the one it replaces: ours would inherit
 * var_lib_t from /var/lib, where dockerd's own mkdir gets container_var_lib_t, and containers
 * would then be denied their layers. Nothing to do where SELinux is off.
 */
async function copySelinuxLabel(host: Host, reference: string, target: string): Promise<void> {
  if (!(await host.stat('/sys/fs/selinux/enforce'))) return;
  const result = await host.run('chcon', [`--reference=${onDisk(host, reference)}`, onDisk(host, target)], { timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(`Could not give ${target} the SELinux label of ${reference}: ${lastLine(result.stderr)}`, `Run \`chcon --reference=${reference} ${target}\` (or restorecon -v ${target}), then resume.`);
  }
}

async function copyTree(host: Host, from: string, to: string): Promise<void> {
  // cp -a keeps modes, owners, timestamps, links, xattrs and SELinux labels; sparse files stay sparse.
  const result = await host.run('cp', ['-a', '--sparse=always', onDisk(host, from), onDisk(host, to)]);
  if (result.exitCode !== 0) {
    throw new OperatorError(`Copying ${from} to ${to} failed: ${lastLine(result.stderr)}`, `Look at the message and at ${to}, then resume.`);
  }
}

async function everyExists(host: Host, paths: string[]): Promise<boolean> {
  for (const p of paths) if (!(await host.stat(p))) return false;
  return true;
}

interface MountEntry {
  id: number;
  parent: number;
  /** major:minor of the filesystem. */
  device: string;
  /** The directory of that filesystem mounted here ("/" for a whole filesystem, a subdirectory for a bind). */
  root: string;
  mountPoint: string;
}

/** /proc/self/mountinfo, in mount order (octal escapes undone); empty when unreadable. */
async function mountTable(host: Host): Promise<MountEntry[]> {
  const text = await host.readFile('/proc/self/mountinfo').catch(() => undefined);
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  const entries: MountEntry[] = [];
  for (const line of text?.split('\n') ?? []) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    entries.push({ id: Number(fields[0]), parent: Number(fields[1]), device: fields[2]!, root: unescape(fields[3]!), mountPoint: unescape(fields[4]!) });
  }
  return entries;
}

async function mountPoints(host: Host): Promise<Set<string>> {
  return new Set((await mountTable(host)).map((entry) => entry.mountPoint));
}

/**
 * Whether the top mount at `dir` is dockerd's bind mount of its data-root onto itself: dockerd
 * makes one at start when the data-root's mount is not shared (for mount propagation) and
 * removes it on a clean stop, but a daemon that failed to start or was killed leaves it. It
 * binds the same directory of the same filesystem over itself, either inside the parent mount
 * or stacked on the data-root's own mount.
 */
function hasLeftoverBind(table: MountEntry[], dir: string): boolean {
  const here = table.filter((entry) => entry.mountPoint === dir);
  const top = here.at(-1);
  if (!top) return false;
  const parent = table.find((entry) => entry.id === top.parent);
  if (!parent || parent.device !== top.device) return false;
  if (parent.mountPoint === dir) return parent.root === top.root;
  const expectedRoot = path.posix.join(parent.root, path.posix.relative(parent.mountPoint, dir));
  return top.root === expectedRoot;
}

/** How many mounts at `dir` are real ones (not dockerd's leftover bind). */
function realMountsAt(table: MountEntry[], dir: string): number {
  const count = table.filter((entry) => entry.mountPoint === dir).length;
  return hasLeftoverBind(table, dir) ? count - 1 : count;
}

/** Unmounts dockerd's leftover bind mount of a data-root (the daemon is stopped), so that renames work again. */
async function releaseLeftoverBind(host: Host, dir: string): Promise<void> {
  const real = (await host.realpath(dir)) ?? dir;
  if (!hasLeftoverBind(await mountTable(host), real)) return;
  const result = await host.run('umount', [onDisk(host, real)], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(
      `${real} is still bind-mounted onto itself (dockerd does that while it runs) and cannot be unmounted: ${lastLine(result.stderr)}`,
      `Make sure dockerd is stopped, run \`umount ${real}\`, then resume.`,
    );
  }
}

/** A host path as the real machine sees it, for commands (whose arguments the Host does not map). */
function onDisk(host: Host, hostPath: string): string {
  return host.root === '/' ? hostPath : path.join(host.root, hostPath);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
