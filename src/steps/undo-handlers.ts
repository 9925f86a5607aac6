/**
 * How each kind of journalled change is undone (rollback, automatic or by command). Every
 * handler is idempotent and reads only the journal entry and the run's files, so a rollback
 * can run in a later process, after a crash, and again after it was itself interrupted.
 */
import { readFile } from 'node:fs/promises';
import { OperatorError } from '../errors.js';
import { carriedVolumesFrom, carryVolumesBack, keptDataRootFrom, restoreDataRoot } from '../host/data-root.js';
import { reloadServiceDefinitions, startDocker, stopDocker } from '../host/service-manager.js';
import type { MigrationContext } from './context.js';
import type { UndoHandler } from './undo.js';
import { editedFileOwnership, removeStoppedDaemonBridges } from './cutover.js';
import { thinPoolUndoHandlers } from './thin-pool.js';
import { rescueOf, sideDaemonServes, stopRescueDaemon, STARTED_SIDE_DAEMON } from './rescue.js';
import { stagingUndoHandlers } from './staging.js';

/** Stops the daemon when it runs (whatever driver it is on); nothing when it is down already. */
export async function ensureDaemonStopped(ctx: MigrationContext): Promise<void> {
  ctx.forgetDocker();
  if ((await ctx.daemonAnswers(2_000)) || (await pidFileNamesLiveProcess(ctx))) {
    await stopDocker(ctx.host, ctx.service, {
      timeoutSeconds: ctx.answers.service.timeoutSeconds,
      answers: () => ctx.daemonAnswers(1_000),
      pidFile: ctx.daemon.pidFile,
    });
  }
  // Also when it had died: its bridges would shadow the old daemon's once that starts again.
  await removeStoppedDaemonBridges(ctx, (line) => ctx.log(line));
}

/** A daemon that hangs while starting does not answer /_ping yet, but its process holds the data-root. */
async function pidFileNamesLiveProcess(ctx: MigrationContext): Promise<boolean> {
  const pid = Number((await ctx.host.readFile(ctx.daemon.pidFile).catch(() => undefined))?.trim());
  return Number.isInteger(pid) && pid > 0 && (await ctx.host.stat(`/proc/${pid}`)) !== undefined;
}

/** The run note naming where a rollback put the target's data-root aside. */
export const TARGET_DATA_ROOT_NOTE = 'targetDataRootKeptAt';

/**
 * In rescue mode an undo that acts through the Docker API acts on the legacy side daemon, and
 * only while it still serves; once it is stopped, the containers and images are in its data,
 * back in place as they were (the rollback starts no daemon on it).
 */
async function sideDaemonGone(ctx: MigrationContext): Promise<boolean> {
  return rescueOf(ctx.store) !== undefined && !(sideDaemonServes(ctx.store) && (await ctx.daemonAnswers(2_000)));
}

export const UNDO_HANDLERS: Record<string, UndoHandler<MigrationContext>> = {
  'started-target-daemon': async (ctx) => ensureDaemonStopped(ctx),

  // Rescue mode: the legacy dockerd the run started on the old data-root, stopped by its pid file; its directory goes.
  [STARTED_SIDE_DAEMON]: async (ctx) => {
    const rescue = rescueOf(ctx.store);
    if (!rescue) return;
    ctx.forgetDocker();
    await stopRescueDaemon(ctx.host, rescue, ctx.answers.service.timeoutSeconds, (line) => ctx.log(line));
  },

  ...thinPoolUndoHandlers(ensureDaemonStopped),

  ...stagingUndoHandlers,

  'edited-file': async (ctx, data) => {
    await ensureDaemonStopped(ctx);
    const { path, backup } = data as { path: string; backup: string | null };
    if (backup === null) {
      if (await ctx.host.stat(path)) await ctx.host.unlink(path);
    } else {
      // Through a symlink to the file it names, keeping that file's owner, group and mode.
      await ctx.host.writeFile(path, await readFile(backup, 'utf8'), editedFileOwnership(data));
    }
    if (path.includes('/systemd/')) await reloadServiceDefinitions(ctx.host, ctx.service);
  },

  'carried-volumes': async (ctx, data) => {
    await ensureDaemonStopped(ctx);
    await carryVolumesBack(ctx.host, carriedVolumesFrom(data));
  },

  'kept-data-root': async (ctx, data) => {
    await ensureDaemonStopped(ctx);
    const restored = await restoreDataRoot(ctx.host, keptDataRootFrom(data));
    // Kept aside, never deleted here; `finalize` of the rolled-back run deletes it.
    if (restored.newDataRootKeptAt) await ctx.store.setNote(TARGET_DATA_ROOT_NOTE, restored.newDataRootKeptAt);
  },

  'stopped-daemon': async (ctx, data) => {
    ctx.forgetDocker();
    // Rescue mode: the daemon stopped was the legacy side daemon; the installed engine cannot start on devicemapper and is left as it was.
    if (data.side === true) return;
    if (!(await ctx.daemonAnswers(2_000))) {
      await startDocker(ctx.host, ctx.service, {
        timeoutSeconds: ctx.answers.service.timeoutSeconds,
        ping: () => ctx.daemonAnswers(2_000),
        pidFile: ctx.daemon.pidFile,
      });
    }
    const facts = await (await ctx.docker()).system.facts();
    if (facts.driver !== ctx.daemon.sourceDriver) {
      throw new OperatorError(`Docker came back on ${facts.driver}, not on the original ${ctx.daemon.sourceDriver}.`, 'Check the daemon configuration against the run’s config-backup/.');
    }
  },

  // The tags put on images to push them (removed right after each push; left by a kill in between).
  'tagged-for-push': async (ctx, data) => {
    if (await sideDaemonGone(ctx)) return;
    const { images } = await ctx.docker();
    await images.removeHolds();
    const present = await images.tags();
    for (const { imageId, ref } of (data.tags as { imageId: string; ref: string }[] | undefined) ?? []) {
      if (present.get(imageId)?.includes(ref)) await images.removeTemporaryTag(imageId, ref);
    }
  },

  // Journalled before 'stopped-containers', so undone after it: the containers run again by now.
  'unpaused-containers': async (ctx, data) => {
    if (data.side === true) return;
    const names = (data.names as string[] | undefined) ?? [];
    const failed = await (await ctx.docker()).containers.pause(names);
    if (failed.length) throw new OperatorError(`Some containers could not be paused again: ${failed.join('; ')}.`, 'Pause them by hand (docker pause NAME): they were paused before the run.');
  },

  // Rescue mode: not started again on the side daemon, which the rollback stops; they are in the data, as they were.
  'stopped-containers': async (ctx, data) => {
    if (data.side === true) return;
    const names = [...((data.names as string[] | undefined) ?? [])].reverse();
    const { containers } = await ctx.docker();
    const failed: string[] = [];
    for (const name of names) {
      await containers.start([name]).catch((error: unknown) => failed.push(`${name} (${(error as Error).message})`));
    }
    if (failed.length) throw new OperatorError(`Some containers did not start again: ${failed.join('; ')}.`, 'Start them by hand (docker start NAME) after looking at their logs.');
  },
};

/**
 * After the old daemon was started again: stops the containers it started by itself that were
 * not running when the run began (dockerd restarts a stopped `on-failure` container that had
 * failed, FACTS.md). Only those: nothing else about them changes. Returns their names.
 */
export async function stopWhatWasStopped(ctx: MigrationContext): Promise<string[]> {
  const restarted = ctx.store.state.journal.some((entry) => entry.kind === 'stopped-daemon');
  if (!restarted) return [];
  const { containers } = await ctx.docker();
  const wasStopped = new Set(ctx.recorded.inventory.containers.filter((c) => !c.running).map((c) => c.name));
  const running = await containers.runningNames();
  const names = running.filter((name) => wasStopped.has(name));
  try {
    // One wave, each with its own stop timeout: they were all stopped before the run.
    await containers.stop(names.length ? [names] : []);
  } catch (error) {
    throw new OperatorError(`The rollback is done, but ${(error as Error).message}`, `Stop ${names.join(', ')} by hand (docker stop NAME): ${names.length === 1 ? 'it was' : 'they were'} not running before the run.`);
  }
  return names;
}
