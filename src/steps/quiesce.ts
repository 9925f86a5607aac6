/**
 * Quiesce phase: the downtime starts. Containers stop as late as possible and in reverse
 * dependency order; then what they leave behind is kept while nothing writes to it: their
 * writable layers, a description of every volume's files (what verify compares against), and
 * volume archives when the answers ask for them. Every container and volume is its own unit.
 */
import { rescueOf } from './rescue.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { packIntoFile, type PackOptions } from '../archive/index.js';
import { InterruptedError, OperatorError } from '../errors.js';
import { writeFileDurably } from '../fs/atomic-file.js';
import { fileMatchesSha256 } from '../fs/file-sha256.js';
import { hostXattrReader } from '../host/xattr-tools.js';
import { formatBytes } from '../report/format.js';
import type { MigrationContext } from './context.js';
import { archiveBaseDir, VOLUME_TREES_FILE } from '../record/run-files.js';
import { recordedContainer, recordedVolume } from '../record/selection.js';
import { recordVolumeTrees } from '../verify/index.js';
import { journalOnce } from './journal.js';
import { paramsOf } from './params.js';
import { testKillPoint } from './test-hooks.js';
import { secondsSince, throwIfInterrupted } from './progress.js';
import type { Step } from './step.js';

export const stopContainersStep: Step<MigrationContext> = {
  id: 'stop-containers',
  title: 'Stop the containers',
  phase: 'quiesce',
  async run(ctx, progress) {
    // Waves stopped at once: first those the run leaves out but that mount one of its volumes
    // (they could depend on the others, never the reverse), then the selected ones, dependents
    // first. The journal records them in this order; rollback starts them in the reverse one.
    const { waves, leftOut } = paramsOf(ctx, 'stop-containers');
    const names = waves.flat();
    if (!names.length) return progress.say('No container is running');
    const { containers } = await ctx.docker();
    // Engines before 17.07 refuse to stop a paused container. Journalled before the stops, so a
    // rollback pauses them again only after it has started them.
    const paused = await containers.paused(names);
    if (paused.length) {
      await journalOnce(ctx, 'stop-containers', 'unpaused-containers', { names: paused, ...(rescueOf(ctx.store) && { side: true }) });
      progress.say(`Unpausing ${paused.join(', ')} to stop ${paused.length === 1 ? 'it' : 'them'} (the run pauses ${paused.length === 1 ? 'it' : 'them'} again once restored; a rollback too)`);
      await containers.unpause(paused);
    }
    await journalOnce(ctx, 'stop-containers', 'stopped-containers', { names, ...(rescueOf(ctx.store) && { side: true }) });
    for (const user of leftOut) {
      progress.say(`Stopping ${user.name} too: it is not migrated, but it mounts ${user.volumes.join(', ')}, whose files are read now (a rollback starts it again)`);
    }
    progress.say(`Stopping ${waves.map((wave) => wave.join(', ')).join(', then ')}…`);
    const started = Date.now();
    // Each container gets its own stop timeout (Config.StopTimeout, else the engine's default).
    const results = await containers.stop(waves);
    const gone = Object.entries(results).filter(([, r]) => r === 'gone').map(([n]) => n);
    if (gone.length) progress.say(`Removed itself on stop (--rm): ${gone.join(', ')}; its writable layer and anonymous volumes are gone with it`);
    progress.say(`Stopped ${names.length} container(s) in ${secondsSince(started)}`);
  },
};

export const saveWritableLayersStep: Step<MigrationContext> = {
  id: 'save-writable-layers',
  title: 'Keep the containers’ writable layers',
  phase: 'quiesce',
  async run(ctx, progress) {
    const { containers } = await ctx.docker();
    let finished = 0;
    for (const planned of paramsOf(ctx, 'save-writable-layers').containers) {
      throwIfInterrupted(ctx, 'keeping the writable layers');
      const container = recordedContainer(ctx.recorded, planned.name);
      const key = `layer:${container.name}`;
      const dir = await preparedDir(planned.archive);
      if (await keptBefore(ctx, key, dir, progress)) continue;
      progress.say(`Keeping the writable layer of ${container.name}…`);
      const capture = await containers.captureWritableLayer(container.id, planned.archive);
      await ctx.store.markUnitDone(key, { file: path.basename(planned.archive), ...capture });
      const lost = capture.deleted.length ? `; ${capture.deleted.length} deleted path(s) cannot be kept: ${capture.deleted.slice(0, 5).join(', ')}` : '';
      progress.say(`Kept ${container.name}: ${capture.added} added, ${capture.changed} changed (${formatBytes(capture.bytes)})${lost}`);
      if (++finished === 1) testKillPoint('save-writable-layers', 'middle');
    }
  },
};

/**
 * Whether a resumed run may skip the unit: done, and its archive still there with the sha256
 * recorded when it was made. A missing or damaged archive is made again (the containers are
 * stopped, so the content is the same).
 */
async function keptBefore(ctx: MigrationContext, key: string, dir: string, progress: { say(text: string): void }): Promise<boolean> {
  if (!ctx.store.isUnitDone(key)) return false;
  const details = ctx.store.state.units[key]?.details as { file?: string; sha256?: string } | undefined;
  if (details?.file && (await fileMatchesSha256(path.join(dir, details.file), details.sha256, ctx.signal))) {
    progress.say(`${details.file}: made before, archive verified`);
    return true;
  }
  progress.say(`${details?.file ?? key}: the archive made before is missing or damaged; making it again`);
  return false;
}

export const recordVolumesStep: Step<MigrationContext> = {
  id: 'record-volumes',
  title: 'Describe the volumes’ files',
  phase: 'quiesce',
  async run(ctx, progress) {
    // Volumes whose files are kept (remote and tmpfs-backed ones keep their definition only).
    const { volumes, content } = paramsOf(ctx, 'record-volumes');
    if ((await ctx.store.readJson(VOLUME_TREES_FILE)) !== undefined) return progress.say('Described before');
    // Content checksums read every byte: only when the volumes are archived (read anyway).
    // Carried volumes keep their inodes, so size, mode, owner and mtime tell a change.
    const trees = await recordVolumeTrees(volumes.map((v) => ({ name: v.name, path: v.mountpoint })), { content });
    await ctx.store.writeJson(VOLUME_TREES_FILE, trees);
    progress.say(`Described ${volumes.length} volume(s)`);
  },
};

export const archiveVolumesStep: Step<MigrationContext> = {
  id: 'archive-volumes',
  title: 'Archive the volumes',
  phase: 'quiesce',
  async run(ctx, progress) {
    const readXattrs = hostXattrReader(ctx.host, (message) => progress.say(message));
    let finished = 0;
    for (const planned of paramsOf(ctx, 'archive-volumes').volumes) {
      throwIfInterrupted(ctx, 'the volume archives');
      const volume = recordedVolume(ctx.recorded, planned.name);
      const key = `volume:${volume.name}`;
      const dir = await preparedDir(planned.archive);
      if (await keptBefore(ctx, key, dir, progress)) continue;
      const file = planned.archive;
      progress.say(`Archiving volume ${volume.name}${volume.size > 0 ? ` (${formatBytes(volume.size)})` : ''}…`);
      const started = Date.now();
      const result = await packToFile(planned.mountpoint, file, {
        signal: ctx.signal,
        readXattrs,
        onProgress: (doneBytes) => progress.transfer({ label: volume.name, doneBytes, totalBytes: volume.size > 0 ? volume.size : undefined }),
      }).catch((error: unknown) => {
        throw namingVolume(volume.name, error);
      });
      await ctx.store.markUnitDone(key, { file: path.basename(file), sha256: result.sha256, bytes: result.bytes, entries: result.entries, skipped: result.skipped });
      for (const skipped of result.skipped) progress.say(`${volume.name}: not archived: ${skipped.path} (${skipped.reason})`);
      progress.say(`Archived ${volume.name} in ${secondsSince(started)} (${formatBytes(result.bytes)})`);
      if (++finished === 1) testKillPoint('archive-volumes', 'middle');
    }
  },
};

/** A failed archive names its volume (the error alone names an entry inside it, or none). */
function namingVolume(name: string, error: unknown): unknown {
  if ((error as Error)?.name === 'AbortError' || error instanceof InterruptedError) return error;
  const remedy = error instanceof OperatorError ? error.remedy : 'Check that the volume is readable and that the backup directory has room, then resume.';
  const named = new OperatorError(`Volume ${name} could not be archived: ${(error as Error)?.message ?? String(error)}`, remedy);
  (named as { cause?: unknown }).cause = error;
  return named;
}

/** packIntoFile into `<file>.partial`, fsynced and renamed when complete: a half archive never looks whole. */
function packToFile(source: string, file: string, options: PackOptions) {
  return writeFileDurably(file, (partial) => packIntoFile(source, partial, options));
}

type ArchiveKind = 'images' | 'volumes' | 'layers' | 'data-root';

/** Where a kind of archive goes (see archiveBaseDir). */
export function archiveDir(ctx: Pick<MigrationContext, 'store' | 'answers'>, kind: ArchiveKind): string {
  return path.join(archiveBaseDir(ctx.answers.backup.directory, ctx.store.stateDir, ctx.store.runId), kind);
}

/** The directory of a planned archive, created (0700, with its parents): a backup.directory starts empty. */
export async function preparedDir(archive: string): Promise<string> {
  const dir = path.dirname(archive);
  await mkdir(dir, { recursive: true, mode: 0o700 }); // our own directory, not a system one
  return dir;
}
