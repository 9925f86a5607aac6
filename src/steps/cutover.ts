/**
 * Cutover phase: the dangerous moment. Every change is journalled before it is made, so that
 * rollback (automatic or by command) can undo it from the state file alone, newest first.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { needsOverlay2KernelOverride, rewriteDaemonConfig } from '../config/daemon-config-rewrite.js';
import { parseDaemonJson } from '../config/daemon-json.js';
import { disableStorageSetup, execStartOverride, removeStorageFlagsFromEnvironmentFile, removeStorageFlagsFromUnit } from '../config/unit-file-edit.js';
import { OperatorError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import {
  archiveDataRoot,
  carryPlanFor,
  carryVolumes,
  keepDataRoot,
  keptDataRootFrom,
  planKeepDataRoot,
  carriedVolumesFrom,
} from '../host/data-root.js';
import { removeLeftoverBridges } from '../host/bridges.js';
import type { WriteFileOptions } from '../host/host.js';
import { reloadServiceDefinitions, startDocker, stopDocker } from '../host/service-manager.js';
import { directLvmStorageOpts, runPool } from '../plan/direct-lvm.js';
import type { PlannedFlagEdit } from '../plan/plan.js';
import { formatBytes } from '../report/format.js';
import type { MigrationContext } from './context.js';
import { selectedNetworks } from '../record/selection.js';
import { journalled, journalOnce } from './journal.js';
import { secondsSince } from './progress.js';
import { preparedDir } from './quiesce.js';
import { paramsOf } from './params.js';
import type { Step } from './step.js';
import { rescueOf, stopRescueDaemon } from './rescue.js';
import { sideDaemonLayout } from '../host/side-daemon.js';

/** Where the run's own drop-in goes when the vendor unit itself carries storage flags. */
export const OVERRIDE_DROP_IN = '/etc/systemd/system/docker.service.d/99-devmapper-migrate.conf';

export const stopDaemonStep: Step<MigrationContext> = {
  id: 'stop-daemon',
  title: 'Stop Docker',
  phase: 'cutover',
  async run(ctx, progress) {
    const { bridges } = paramsOf(ctx, 'stop-daemon');
    const rescue = rescueOf(ctx.store);
    if (rescue) {
      // Rescue mode: the daemon that served the export is the legacy side daemon; the installed
      // engine was stopped before it started (two daemons never share a data-root).
      await journalOnce(ctx, 'stop-daemon', 'stopped-daemon', { manager: 'side-daemon', side: true });
      ctx.forgetDocker();
      await stopRescueDaemon(ctx.host, rescue, ctx.answers.service.timeoutSeconds, (line) => progress.say(line));
      progress.say(`The legacy dockerd ${rescue.legacyVersion} (${rescue.spec.dockerd}) is stopped; its directory ${sideDaemonLayout(rescue.spec).dir} is removed`);
      await removeStoppedDaemonBridges(ctx, (line) => progress.say(line), bridges);
      return;
    }
    await journalOnce(ctx, 'stop-daemon', 'stopped-daemon', { manager: ctx.service.kind });
    ctx.forgetDocker();
    const result = await stopDocker(ctx.host, ctx.service, {
      timeoutSeconds: ctx.answers.service.timeoutSeconds,
      answers: () => ctx.daemonAnswers(1_000),
      pidFile: ctx.daemon.pidFile,
      say: (line) => progress.say(line),
    });
    progress.say(`Docker stopped in ${result.seconds.toFixed(1)} s`);
    await removeStoppedDaemonBridges(ctx, (line) => progress.say(line), bridges);
  },
};

/**
 * After a daemon stopped: deletes the bridges it left for the run's networks, which would
 * shadow the next daemon's bridges for the same subnets (see src/host/bridges.ts). `names`:
 * only these (the source daemon's, as planned); without, any down bridge on those subnets
 * (the target daemon's, on rollback, whose network IDs no plan knows).
 */
export async function removeStoppedDaemonBridges(ctx: MigrationContext, say: (line: string) => void, names?: readonly string[]): Promise<void> {
  const subnets = selectedNetworks(ctx.recorded)
    .filter((network) => network.driver === 'bridge')
    .flatMap((network) => network.ipam.config.map((pool) => pool.subnet).filter((subnet): subnet is string => Boolean(subnet)));
  const removed = await removeLeftoverBridges(ctx.host, subnets, names);
  for (const bridge of removed) say(`Removed the stopped daemon's bridge ${bridge.name} (${bridge.address}): the next daemon makes its own for that subnet`);
}

export const keepDataRootStep: Step<MigrationContext> = {
  id: 'keep-data-root',
  title: 'Keep the old data-root',
  phase: 'cutover',
  async run(ctx, progress) {
    const { dataRoot, archive: file } = paramsOf(ctx, 'keep-data-root');
    if (file !== undefined && !ctx.store.isUnitDone('data-root-archive')) {
      await preparedDir(file);
      progress.say(`Archiving ${dataRoot} to ${file} (GNU tar, sparse-aware)…`);
      const started = Date.now();
      const archive = await archiveDataRoot(ctx.host, { dataRoot, archivePath: file });
      await ctx.store.markUnitDone('data-root-archive', { ...archive });
      progress.say(`Archived the data-root in ${secondsSince(started)} (${formatBytes(archive.bytes)})`);
    }
    // The new driver needs a data-root of its own (old container records there would come
    // back broken), so the old one is always moved aside; `archive` adds the tar above. Where
    // it goes (beside it, or inside it when it is a mount point) is decided here, from what
    // the host has then, and journalled before the move.
    const entry = journalled(ctx, 'keep-data-root', 'kept-data-root');
    const kept = entry
      ? keptDataRootFrom(entry.data)
      : await planKeepDataRoot(ctx.host, { dataRoot, runId: ctx.store.runId });
    if (!entry) await ctx.store.journal('keep-data-root', 'kept-data-root', { ...kept });
    await keepDataRoot(ctx.host, kept);
    await ctx.store.setNote('keptDataRoot', kept.keptPath);
    progress.say(kept.method === 'sibling' ? `Moved ${kept.path} to ${kept.keptPath}` : `Moved the contents of ${kept.path} into ${kept.keptPath}`);
  },
};

export const carryVolumesStep: Step<MigrationContext> = {
  id: 'carry-volumes',
  title: 'Carry the volumes to the new data-root',
  phase: 'cutover',
  async run(ctx, progress) {
    const keptEntry = journalled(ctx, 'keep-data-root', 'kept-data-root');
    if (!keptEntry) throw new Error('carry-volumes before keep-data-root');
    const entry = journalled(ctx, 'carry-volumes', 'carried-volumes');
    const carried = entry ? carriedVolumesFrom(entry.data) : await carryPlanFor(ctx.host, keptDataRootFrom(keptEntry.data));
    if (!entry) await ctx.store.journal('carry-volumes', 'carried-volumes', { ...carried });
    await carryVolumes(ctx.host, carried);
    progress.say(carried.method === 'none' ? 'There was no volumes directory' : `Carried ${carried.from} to ${carried.to} (${carried.method}, no bytes copied)`);
  },
};

export const rewriteConfigStep: Step<MigrationContext> = {
  id: 'rewrite-config',
  title: 'Configure Docker for the target driver',
  phase: 'cutover',
  async run(ctx, progress) {
    const { configPath, driver, flagEdits } = paramsOf(ctx, 'rewrite-config');
    const original = await readOriginal(ctx, configPath);
    const parsed = original === undefined ? undefined : parseDaemonJson(original);
    if (parsed && !parsed.ok) {
      throw new OperatorError(`${configPath} is not valid JSON: ${parsed.error.message}`, 'Fix the file (it was not changed), then resume or roll back.');
    }
    const rewrite = rewriteDaemonConfig(parsed?.value, {
      driver,
      storageOpts: driver === 'devicemapper' ? directLvmStorageOpts(runPool(ctx.store.runId)) : undefined,
      // Recorded at the start from the data-root's mount (xfs with pquota); absent in older state files.
      backingFsSupportsQuota: ctx.store.state.notes.overlaySizeSupported === true,
      overrideKernelCheck: needsOverlay2KernelOverride(ctx.daemon.serverVersion, ctx.recorded.inventory.daemon.kernelVersion),
    }, { crlf: parsed?.crlf });
    await editFile(ctx, configPath, rewrite.text, 0o644);
    for (const change of rewrite.changes) progress.say(`${configPath}: ${change}`);
    for (const warning of rewrite.warnings) progress.say(`Note: ${warning}`);

    let unitsEdited = false;
    for (const target of flagEdits) {
      unitsEdited = (await removeFlags(ctx, target, (line) => progress.say(line))) || unitsEdited;
    }
    if (unitsEdited) await reloadServiceDefinitions(ctx.host, ctx.service);
    await validateConfig(ctx, configPath, (line) => progress.say(line));
  },
};

/** The file as it was before the run: from the run's backup when this step ran before. */
async function readOriginal(ctx: MigrationContext, file: string): Promise<string | undefined> {
  const entry = ctx.store.state.journal.find((e) => e.kind === 'edited-file' && e.data.path === file && !e.undoneAt);
  if (entry) return typeof entry.data.backup === 'string' ? readFile(entry.data.backup, 'utf8') : undefined;
  return ctx.host.readFile(file);
}

/**
 * Backs a system file up into config-backup/, journals it with the owner, group and mode of
 * the real file (through a symlink: the file it names, not the link's 0777), and writes the new
 * text atomically through the link.
 */
async function editFile(ctx: MigrationContext, file: string, text: string, mode: number): Promise<void> {
  let entry = ctx.store.state.journal.find((e) => e.kind === 'edited-file' && e.data.path === file && !e.undoneAt);
  if (!entry) {
    const before = await ctx.host.readFile(file);
    const real = before === undefined ? undefined : await ctx.host.realpath(file);
    const stat = real === undefined ? undefined : await ctx.host.stat(real);
    const backup = before === undefined ? null : ctx.store.path('config-backup', file.replace(/^\//, '').replace(/\//g, '__'));
    if (backup !== null) await writeFileAtomic(backup, before!); // our own file: 0600 in the run directory
    const kept = stat ? { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid } : { mode };
    entry = await ctx.store.journal('rewrite-config', 'edited-file', { path: file, backup, ...kept });
  }
  if (!(await ctx.host.stat(path.dirname(file)))) await ctx.host.mkdir(path.dirname(file), { mode: 0o755 });
  await ctx.host.writeFile(file, text, editedFileOwnership(entry.data));
}

/** How a journalled file is created again when it is missing: its recorded mode and owner. */
export function editedFileOwnership(data: Record<string, unknown>): WriteFileOptions {
  const options: WriteFileOptions = { mode: typeof data.mode === 'number' ? data.mode : 0o644 };
  if (typeof data.uid === 'number' && typeof data.gid === 'number') Object.assign(options, { uid: data.uid, gid: data.gid });
  return options;
}

/** Removes storage flags from a unit, drop-in or environment file; true when a unit changed. */
async function removeFlags(ctx: MigrationContext, target: PlannedFlagEdit, say: (line: string) => void): Promise<boolean> {
  const text = await readOriginal(ctx, target.path);
  if (target.kind === 'storage-setup') {
    // A missing file is created: without it docker-storage-setup runs on its default, devicemapper.
    const edit = disableStorageSetup(text ?? '');
    if (edit.status === 'unchanged') return false;
    await editFile(ctx, target.path, edit.text, 0o644);
    say(`${target.path}: ${edit.removed.join(' ')} → STORAGE_DRIVER="" (docker-storage-setup no longer writes storage flags)`);
    return false;
  }
  if (text === undefined) return false;
  if (target.kind === 'systemd-unit') {
    // The vendor unit is not ours to edit (a package update would undo it): a drop-in overrides ExecStart.
    const override = execStartOverride(text);
    if (!override) return false;
    await editFile(ctx, OVERRIDE_DROP_IN, override.text, 0o644);
    say(`${OVERRIDE_DROP_IN}: ExecStart without ${override.removed.join(' ')}`);
    return true;
  }
  const edit = target.kind === 'systemd-drop-in' ? removeStorageFlagsFromUnit(text) : removeStorageFlagsFromEnvironmentFile(text);
  if (edit.status === 'unchanged') return false;
  await editFile(ctx, target.path, edit.text, 0o644);
  say(`${target.path}: removed ${edit.removed.join(' ')}`);
  return target.kind === 'systemd-drop-in';
}

/**
 * Engines 23 and newer check a configuration without starting: a bad one stops here, before the
 * start. The program the daemon runs is asked, and its own version decides: PATH's or the
 * unit's dockerd may be another engine (a dockerd from elsewhere, a package changed without a
 * restart), and an older dockerd refuses --validate as an unknown flag.
 */
async function validateConfig(ctx: MigrationContext, configPath: string, say: (line: string) => void): Promise<void> {
  const binary = await ctx.host.which(ctx.daemon.dockerdBinary ?? 'dockerd');
  if (!binary) return;
  const version = await ctx.host.run(binary, ['--version'], { timeoutMs: 60_000 });
  const major = Number(/\bversion (\d+)\./.exec(version.stdout)?.[1] ?? 0);
  if (version.exitCode !== 0 || major < 23) return;
  const result = await ctx.host.run(binary, ['--validate', '--config-file', configPath], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(`${binary} --validate refused the new ${configPath}: ${(result.stderr || result.stdout).trim()}`, 'The original is in the run’s config-backup/. Roll back, or fix the file and resume.');
  }
  say(`${binary} --validate: ${configPath} is valid`);
}

export const startDaemonStep: Step<MigrationContext> = {
  id: 'start-daemon',
  title: 'Start Docker on the target driver',
  phase: 'cutover',
  async run(ctx, progress) {
    await journalOnce(ctx, 'start-daemon', 'started-target-daemon', {});
    ctx.forgetDocker();
    const result = await startDocker(ctx.host, ctx.service, {
      timeoutSeconds: ctx.answers.service.timeoutSeconds,
      ping: () => ctx.daemonAnswers(2_000),
      pidFile: ctx.daemon.pidFile,
      say: (line) => progress.say(line),
    });
    const { driver } = paramsOf(ctx, 'start-daemon');
    const facts = await (await ctx.docker()).system.facts();
    if (facts.driver !== driver) {
      throw new OperatorError(
        `Docker came up on the ${facts.driver} storage driver, not on ${driver}.`,
        'Something else configures the driver (a flag in the service definition or the start command); find it with `devmapper-migrate preflight`.',
      );
    }
    progress.say(`Docker answers on ${facts.driver} after ${result.seconds.toFixed(1)} s`);
  },
};
