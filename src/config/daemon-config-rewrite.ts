/**
 * The daemon.json rewrite of the cutover (pure). Parsing is daemon-json.ts's job; this takes
 * the parsed object (or undefined when the file does not exist) and returns the new object,
 * its text and a readable account of every change.
 *
 * Decisions:
 * - Every key other than `storage-driver` and `storage-opts` keeps its value and its place;
 *   `storage-driver` keeps its place when it was there, else it is appended.
 * - `storage-opts`: every `dm.*` entry goes (dockerd lower-cases option keys, so `DM.x` too).
 *   Leftovers would stop overlay2 ("overlay2: unknown option dm.thinpooldev", PITFALLS 5).
 *   Other entries stay; one that belongs to neither the target driver nor devicemapper is kept
 *   but warned about, as the target driver will refuse it. The key goes when nothing is left.
 * - `dm.basesize` becomes `overlay2.size` only when the backing filesystem supports project
 *   quota (xfs mounted with pquota); elsewhere overlay2 refuses the option ("Storage option
 *   overlay2.size not supported", PITFALLS 15), so it is dropped with a warning instead.
 * - For a devicemapper target (a fresh direct-lvm pool) the old pool's options go (they name
 *   the old pool or loop files) and the given ones are set; tunables that do not name a pool
 *   (dm.basesize, dm.fs, dm.mountopt, ...) are kept unless the target sets them.
 * - `graph` is the old name of `data-root`. It is kept as it is: engines before 17.05 know only
 *   `graph`, and renaming a key the operator chose is not needed to change the driver. Engines
 *   23 and newer refuse `graph`, so a warning says to rename it before the v25 upgrade;
 *   `renameGraph: true` renames it in place (do that when the running engine is 17.05+).
 */

import { OperatorError } from '../errors.js';

export type TargetDriver = 'overlay2' | 'devicemapper';

export interface RewriteTarget {
  driver: TargetDriver;
  /** Options to set (for devicemapper: the new pool's dm.* options). */
  storageOpts?: string[];
  /** The backing filesystem of the data-root supports project quota (xfs with pquota). */
  backingFsSupportsQuota?: boolean;
  /** Rename `graph` to `data-root` in place (safe on engines 17.05 and newer). */
  renameGraph?: boolean;
  /** Add overlay2.override_kernel_check=true (see needsOverlay2KernelOverride). */
  overrideKernelCheck?: boolean;
}

/** The storage option that lets docker-ce 17.03–17.11 run overlay2 on a kernel below 4.0. */
export const OVERRIDE_KERNEL_CHECK = 'overlay2.override_kernel_check=true';

/**
 * Whether overlay2 needs overlay2.override_kernel_check=true to start: docker-ce 17.03 to 17.11
 * (and docker-ee 17.03/17.06) refuse kernels below 4.0 without it ("error initializing
 * graphdriver: driver not supported"; moby's overlay2 Init: "require kernel 4.0.0 to ensure
 * multiple lower dirs are supported"), even RHEL 7's 3.10, which backports what overlay2 needs.
 * Later engines dropped the check (17.12) and then the option (24.0).
 */
export function needsOverlay2KernelOverride(serverVersion: string, kernelRelease: string | undefined): boolean {
  const engine = /^(\d+)\.(\d+)\./.exec(serverVersion.trim());
  const kernel = /^(\d+)\./.exec((kernelRelease ?? '').trim());
  if (!engine || !kernel) return false;
  const [major, minor] = [Number(engine[1]), Number(engine[2])];
  return major === 17 && minor >= 3 && minor <= 11 && Number(kernel[1]) < 4;
}

export interface DaemonConfigRewrite {
  config: Record<string, unknown>;
  /** Pretty JSON (two spaces) ending with a newline. */
  text: string;
  /** Each change, readable: "storage-driver: devicemapper → overlay2". */
  changes: string[];
  /** Things the operator should know (dropped options, keys to rename before upgrading). */
  warnings: string[];
  /** The file did not exist and is to be created. */
  created: boolean;
}

/** devicemapper tunables that do not name a pool or its devices: kept for a new direct-lvm pool. */
const DM_TUNABLES = new Set([
  'dm.basesize',
  'dm.fs',
  'dm.mkfsarg',
  'dm.mountopt',
  'dm.blkdiscard',
  'dm.min_free_space',
  'dm.override_udev_sync_check',
  'dm.use_deferred_removal',
  'dm.use_deferred_deletion',
  'dm.xfs_nospace_max_retries',
  'dm.libdm_log_level',
]);

/** The storage driver a daemon.json names, or undefined when it names none. */
export function configuredDriver(config: Record<string, unknown> | undefined): string | undefined {
  const driver = config?.['storage-driver'];
  return typeof driver === 'string' && driver.trim() !== '' ? driver.trim() : undefined;
}

/** The key of a storage option ("dm.basesize" of "dm.basesize=20G"), lower-cased as dockerd does. */
export function storageOptKey(option: string): string {
  const eq = option.indexOf('=');
  return (eq === -1 ? option : option.slice(0, eq)).trim().toLowerCase();
}

function storageOptValue(option: string): string {
  const eq = option.indexOf('=');
  return eq === -1 ? '' : option.slice(eq + 1).trim();
}

const isDmOption = (option: string) => storageOptKey(option).startsWith('dm.');

/** daemon.json for the target driver: other keys kept in order, dm.* options dropped (see the file's notes). */
export function rewriteDaemonConfig(original: Record<string, unknown> | undefined, target: RewriteTarget, style: { crlf?: boolean } = {}): DaemonConfigRewrite {
  const changes: string[] = [];
  const warnings: string[] = [];
  const created = original === undefined;
  if (created) changes.push('create the file (it does not exist)');
  const source = original ?? {};

  const opts = rewriteStorageOpts(source['storage-opts'], target, changes, warnings);
  const before = configuredDriver(source);
  const config: Record<string, unknown> = {};
  let driverPlaced = false;
  let optsPlaced = false;
  for (const [key, value] of Object.entries(source)) {
    if (key === 'storage-driver') {
      config[key] = target.driver;
      driverPlaced = true;
    } else if (key === 'storage-opts') {
      if (opts.length > 0) config[key] = opts;
      optsPlaced = true;
    } else if (key === 'graph' && target.renameGraph && typeof value === 'string') {
      if (source['data-root'] === undefined) {
        config['data-root'] = value;
        changes.push(`graph → data-root (same path, ${value}): engines 23 and newer refuse "graph"`);
      } else config[key] = value;
    } else config[key] = value;
  }
  if (!driverPlaced) config['storage-driver'] = target.driver;
  if (!optsPlaced && opts.length > 0) config['storage-opts'] = opts;
  if (before !== target.driver) changes.unshift(`storage-driver: ${before ?? '(not set)'} → ${target.driver}`);

  if (target.overrideKernelCheck && target.driver === 'overlay2') {
    warnings.push(
      `"${OVERRIDE_KERNEL_CHECK}" lets this engine (17.03 to 17.11) run overlay2 on a kernel below 4.0; Docker Engine 24 and newer refuse the option ` +
        '("overlay2: unknown option overlay2.override_kernel_check"): remove it from storage-opts when upgrading the engine.',
    );
  }
  if (typeof config.graph === 'string') {
    warnings.push(
      `"graph" (${config.graph}) is the old name of "data-root"; Docker Engine 23 and newer refuse to start with it: ` +
        'rename it to "data-root" before upgrading the engine (engines 17.05 and newer accept "data-root").',
    );
  }
  // A file written with CRLF line ends (an editor on Windows) keeps them; JSON.stringify escapes
  // every newline inside strings, so each raw \n is a line end.
  const text = `${JSON.stringify(config, null, 2)}\n`;
  return { config, text: style.crlf ? text.replace(/\n/g, '\r\n') : text, changes, warnings, created };
}

function rewriteStorageOpts(value: unknown, target: RewriteTarget, changes: string[], warnings: string[]): string[] {
  if (value !== undefined && !Array.isArray(value)) {
    // dockerd itself refuses this, so the host cannot be running with it; say so rather than guess.
    throw new OperatorError(
      '"storage-opts" in daemon.json is not a list, so dockerd cannot be using this file as it is.',
      'Make "storage-opts" a list of strings, e.g. ["dm.basesize=20G"], or remove it, then run again.',
    );
  }
  const existing = (value ?? []).filter((o): o is string => typeof o === 'string');
  const wanted = [...(target.storageOpts ?? []), ...(target.overrideKernelCheck && target.driver === 'overlay2' ? [OVERRIDE_KERNEL_CHECK] : [])];
  const wantedKeys = new Set(wanted.map(storageOptKey));
  const kept: string[] = [];
  for (const option of existing) {
    const key = storageOptKey(option);
    if (wantedKeys.has(key)) continue; // replaced by the target's value below
    if (isDmOption(option)) {
      if (target.driver === 'devicemapper' && DM_TUNABLES.has(key)) {
        kept.push(option);
        continue;
      }
      if (key === 'dm.basesize' && target.driver === 'overlay2') {
        translateBaseSize(option, existing, target, kept, changes, warnings);
        continue;
      }
      changes.push(`storage-opts: remove ${option}`);
      continue;
    }
    kept.push(option);
    if (!key.startsWith(`${target.driver}.`)) {
      warnings.push(`storage-opts: "${option}" is not an option of ${target.driver}; dockerd will refuse to start with it.`);
    }
  }
  for (const option of wanted) {
    const previous = existing.find((o) => storageOptKey(o) === storageOptKey(option));
    if (previous === option) kept.push(option);
    else {
      kept.push(option);
      changes.push(previous ? `storage-opts: ${previous} → ${option}` : `storage-opts: add ${option}`);
    }
  }
  if (existing.length > 0 && kept.length === 0) changes.push('storage-opts: remove the now empty list');
  return kept;
}

function translateBaseSize(
  option: string,
  existing: string[],
  target: RewriteTarget,
  kept: string[],
  changes: string[],
  warnings: string[],
): void {
  const size = storageOptValue(option);
  const hasSize = existing.some((o) => storageOptKey(o) === 'overlay2.size');
  if (target.backingFsSupportsQuota && size !== '' && !hasSize) {
    kept.push(`overlay2.size=${size}`);
    changes.push(`storage-opts: ${option} → overlay2.size=${size} (a per-container size limit, as before)`);
    return;
  }
  changes.push(`storage-opts: remove ${option}`);
  if (!hasSize) {
    warnings.push(
      `${option} was dropped: overlay2 limits a container's size (overlay2.size) only on xfs mounted with pquota, ` +
        'which this data-root is not on; containers now have no size limit.',
    );
  }
}
