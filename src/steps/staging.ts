/**
 * Pre-staging (issue 20): while the host's daemon still serves, a private dockerd of the host's
 * own engine loads every saved image into a new data-root on the data-root's filesystem; the
 * cutover then renames it into place, so the downtime holds no image load.
 */
import { needsOverlay2KernelOverride } from '../config/daemon-config-rewrite.js';
import { daemonAnswers } from '../docker/daemon-status.js';
import { openDockerDoors } from '../docker/doors.js';
import { OperatorError } from '../errors.js';
import { keptDataRootFrom } from '../host/data-root.js';
import { sideDaemonLayout, startSideDaemon, stopSideDaemon, type SideDaemonSpec } from '../host/side-daemon.js';
import { dropSideDaemonState, placeStagedRoot, prepareStagedRoot, planStagedPlacement, removeRuntimeDir, removeStagedRoot, stagedPlacementFrom, unplaceStagedRoot } from '../host/staged-root.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import type { ParamsOf } from '../plan/plan.js';
import type { MigrationContext } from './context.js';
import { journalled, journalOnce } from './journal.js';
import { paramsOf } from './params.js';
import { secondsSince } from './progress.js';
import { loadImagesInto } from './restore.js';
import type { Step } from './step.js';
import type { UndoHandler } from './undo.js';

/** The run's unit that says the staged root holds every image and its daemon is stopped. */
const STAGED_UNIT = 'staged-images';

/** The journal kind of the staged root's placement at the cutover. */
export const PLACED_KIND = 'placed-staged-root';

/** The private daemon's log, kept in the run directory. */
export const STAGING_LOG = 'staging-dockerd.log';

/** The journal kind of a started staging: its undo stops the private daemon and removes what it made. */
export const STAGED_ROOT_KIND = 'staged-root';

interface StagedRootEntry {
  dockerd: string;
  stagedRoot: string;
  runtimeDir: string;
  runId: string;
  storageOpts: string[];
}

function sideSpec(entry: StagedRootEntry): SideDaemonSpec {
  return { name: 'staging', runId: entry.runId, runtimeDir: entry.runtimeDir, dockerd: entry.dockerd, dataRoot: entry.stagedRoot, storageDriver: 'overlay2', storageOpts: entry.storageOpts };
}

function entryOf(ctx: MigrationContext, params: ParamsOf<'stage-images'>): StagedRootEntry {
  const { recorded, daemon } = ctx;
  const storageOpts = needsOverlay2KernelOverride(daemon.serverVersion, recorded.inventory.daemon.kernelVersion) ? ['overlay2.override_kernel_check=true'] : [];
  return { dockerd: params.dockerd, stagedRoot: params.stagedRoot, runtimeDir: params.runtimeDir, runId: ctx.store.runId, storageOpts };
}

async function stopStagingDaemon(ctx: MigrationContext, spec: SideDaemonSpec, say?: (line: string) => void): Promise<void> {
  const layout = sideDaemonLayout(spec);
  await stopSideDaemon(ctx.host, spec, { timeoutSeconds: ctx.answers.service.timeoutSeconds, answers: () => daemonAnswers(layout.dockerHost, 1_000), say });
}

export const stageImagesStep: Step<MigrationContext> = {
  id: 'stage-images',
  title: 'Stage the images in the new data-root',
  phase: 'export',
  async run(ctx, progress) {
    if (ctx.store.isUnitDone(STAGED_UNIT)) return;
    const params = paramsOf(ctx, 'stage-images');
    // Journalled before anything exists: a kill from here on is undone by stopping the daemon by its pid file and removing both directories.
    const entry = (await journalOnce(ctx, 'stage-images', STAGED_ROOT_KIND, { ...entryOf(ctx, params) })).data as unknown as StagedRootEntry;
    const spec = sideSpec(entry);
    const layout = sideDaemonLayout(spec);
    // A resumed run: a daemon the killed process left is stopped first, so it starts clean.
    if (await ctx.host.stat(layout.pidFile)) await stopStagingDaemon(ctx, spec);
    await prepareStagedRoot(ctx.host, { stagedRoot: entry.stagedRoot, dataRoot: params.dataRoot });
    progress.say(`Starting a private dockerd (${entry.dockerd}) on ${entry.stagedRoot}, socket ${layout.socketPath}`);
    const started = Date.now();
    await startSideDaemon(ctx.host, spec, { timeoutSeconds: ctx.answers.service.timeoutSeconds, ping: () => daemonAnswers(layout.dockerHost, 2_000), say: (line) => progress.say(line) });
    try {
      const doors = await openDockerDoors(layout.dockerHost);
      const facts = await doors.system.facts();
      if (facts.driver !== params.driver) {
        throw new OperatorError(`The private dockerd came up on ${facts.driver}, not on ${params.driver}.`, 'Set staging: off in the answers to load the images after the cutover instead, or roll back.');
      }
      const loaded = await loadImagesInto(ctx, doors, params.images.map((i) => ({ ...i, tags: [], from: 'archive' as const })), progress, 'stage-images');
      progress.say(`Staged ${params.images.length} image(s) (${loaded} loaded now) in ${secondsSince(started)}`);
    } finally {
      await stopStagingDaemon(ctx, spec, (line) => progress.say(line));
    }
    await dropSideDaemonState(ctx.host, entry.stagedRoot);
    // Its log stays with the run; its runtime directory (socket, exec-root, pid file) goes.
    const log = await ctx.host.readFile(layout.logFile);
    if (log !== undefined) await writeFileAtomic(ctx.store.path(STAGING_LOG), log, 0o600);
    await removeRuntimeDir(ctx.host, entry.runtimeDir);
    await ctx.store.markUnitDone(STAGED_UNIT, { stagedRoot: entry.stagedRoot });
  },
};

export const placeStagedRootStep: Step<MigrationContext> = {
  id: 'place-staged-root',
  title: 'Put the staged data-root in place',
  phase: 'cutover',
  async run(ctx, progress) {
    const { from } = paramsOf(ctx, 'place-staged-root');
    const kept = journalled(ctx, 'keep-data-root', 'kept-data-root');
    if (!kept) throw new Error('place-staged-root before keep-data-root');
    // The real directory the old data-root was (the configured one may be a symlink to it).
    const to = keptDataRootFrom(kept.data).path;
    const entry = journalled(ctx, 'place-staged-root', PLACED_KIND);
    const placement = entry ? stagedPlacementFrom(entry.data) : await planStagedPlacement(ctx.host, { from, to });
    if (!entry) await ctx.store.journal('place-staged-root', PLACED_KIND, { ...placement });
    await placeStagedRoot(ctx.host, placement);
    progress.say(placement.method === 'entries' ? `Moved the contents of ${from} into ${to} (no bytes copied)` : `Renamed ${from} to ${to} (no bytes copied)`);
  },
};

/** Rollback of a staging: the private daemon stopped by its pid file, the staged root (unless the cutover put it in place) and its runtime directory removed. */
export const stagingUndoHandlers: Record<string, UndoHandler<MigrationContext>> = {
  [STAGED_ROOT_KIND]: async (ctx, data) => {
    const entry = data as unknown as StagedRootEntry;
    await stopStagingDaemon(ctx, sideSpec(entry));
    // Put in place by the cutover, it is the new data-root: the kept-data-root undo set it aside with the rest.
    await removeStagedRoot(ctx.host, { stagedRoot: entry.stagedRoot, runtimeDir: entry.runtimeDir });
  },
  // Undone before the kept data-root goes back. Once Docker ran on it, it is the new data-root, set aside with it by that undo as in a run without staging; before, it goes back to be removed with the staging.
  [PLACED_KIND]: async (ctx, data) => {
    if (ctx.store.state.journal.some((e) => e.kind === 'started-target-daemon')) return;
    await unplaceStagedRoot(ctx.host, stagedPlacementFrom(data));
  },
};
