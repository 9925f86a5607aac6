/**
 * Restore phase: on the target driver, images, networks, volumes and containers come back in
 * that order, each its own unit, each idempotent (a resumed step finds what it made before).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ARCHIVE_READ_BYTES, extractArchive } from '../archive/index.js';
import { resolveRegistryAuth } from '../config/registry-auth.js';
import { keepsFilesOnHost, type ImageRecord } from '../docker/types.js';
import { OperatorError } from '../errors.js';
import { hostNodeMaker } from '../host/special-files.js';
import { hostXattrWriter } from '../host/xattr-tools.js';
import { mapLimit } from '../map-limit.js';
import { formatBytes } from '../report/format.js';
import type { MigrationContext } from './context.js';
import { imageName, inspectOf, recordedImage, recordedVolume, selectedNetworks } from '../record/selection.js';
import { journalled } from './journal.js';
import { paramsOf } from './params.js';
import { secondsSince, throwIfInterrupted } from './progress.js';
import { archiveDir } from './quiesce.js';
import { testKillPoint } from './test-hooks.js';
import { sha256OfFile } from '../fs/file-sha256.js';
import type { Step, StepProgress } from './step.js';
import type { DockerDoors } from '../docker/doors.js';
import { IMAGE_LOADS_AT_ONCE, UploadDigestMismatch } from '../docker/images.js';
import type { ImageRestore } from '../plan/plan.js';

/** The tags of `image` the daemon does not have on it yet; undefined when the image itself is missing. */
function missingTags(present: Map<string, string[]>, image: ImageRecord): string[] | undefined {
  const tags = present.get(image.id);
  return tags === undefined ? undefined : image.tags.filter((tag) => !tags.includes(tag));
}

export const loadImagesStep: Step<MigrationContext> = {
  id: 'load-images',
  title: 'Restore the images',
  phase: 'restore',
  async run(ctx, progress) {
    const planned = paramsOf(ctx, 'load-images');
    const loaded = await loadImagesInto(ctx, await ctx.docker(), planned.images, progress, 'load-images');
    if (planned.staged) progress.say(loaded === 0 ? `All ${planned.images.length} image(s) were staged before the stop: none loaded now` : `${loaded} image(s) were not in the staged data-root and were loaded now`);
  },
};

/**
 * Loads (or pulls back) each image the daemon behind `doors` lacks, and puts back the tags it
 * lacks; the host's daemon after the cutover, or the staging daemon before it. Returns how many
 * it had to load.
 */
export async function loadImagesInto(
  ctx: MigrationContext,
  doors: Pick<DockerDoors, 'images'>,
  list: readonly ImageRestore[],
  progress: StepProgress,
  killPoint: string,
): Promise<number> {
  const { images } = doors;
  const presentBefore = await images.tags();
  let finished = 0;
  let loaded = 0;
  await mapLimit(list, IMAGE_LOADS_AT_ONCE, async (planned) => {
    throwIfInterrupted(ctx, 'the image restore');
    const image = recordedImage(ctx.recorded, planned.imageId);
    let present = presentBefore;
    if (missingTags(present, image) === undefined) {
      await restoreImage(ctx, images, image, planned, progress);
      loaded++;
      present = await images.tags();
    }
    // Compare with GET /images/json, not the load stream's text (PITFALLS 18).
    const missing = missingTags(present, image);
    if (missing === undefined) {
      throw new OperatorError(`Image ${planned.label} (${image.id}) is not on the daemon after its restore.`, 'Look at the Docker daemon log; then resume.');
    }
    for (const tag of missing) await images.tag(image.id, tag);
    if (++finished === 1) testKillPoint(killPoint, 'middle');
  });
  return loaded;
}

/** Brings one image the daemon lacks back: loaded from its archive (checked against the run's sha256 as it is sent), or pulled back. */
async function restoreImage(
  ctx: MigrationContext,
  images: DockerDoors['images'],
  image: ImageRecord,
  planned: ImageRestore,
  progress: StepProgress,
): Promise<void> {
  const name = planned.label;
  const started = Date.now();
  if (planned.from === 'archive') {
    const file = planned.archive;
    const what = `image ${name}`;
    const sha256 = recordedSha256(ctx, `image:${image.id}`);
    const size = (await stat(file).catch(() => undefined))?.size;
    if (sha256 && size === undefined) throw archiveNotAsWritten(what, file, sha256, undefined);
    progress.say(`Loading image ${name}${size ? ` (${formatBytes(size)})` : ''}…`);
    // The tamper check rides on the upload (one read of the archive, not two): a mismatch cuts the load off before the archive's end.
    await images
      .load(file, { sha256, signal: ctx.signal, onProgress: (doneBytes) => progress.transfer({ label: name, doneBytes, totalBytes: size }) })
      .catch((error: unknown) => {
        throw error instanceof UploadDigestMismatch ? archiveNotAsWritten(what, file, error.expected, error.found) : error;
      });
  } else {
    await pullBack(ctx, image, planned.ref, (line) => progress.say(line));
  }
  progress.say(`Restored ${name} in ${secondsSince(started)}`);
}

/** Pulls a pushed image back from `ref`, where the plan pushed it, and puts its original tags on it (answers: push without save). */
async function pullBack(ctx: MigrationContext, image: ImageRecord, ref: string, say: (line: string) => void): Promise<void> {
  const registry = ctx.answers.registry;
  if (!registry) throw new OperatorError(`Image ${imageName(image)} was neither saved nor pushed.`, 'Set images.save or images.push in the answers.');
  const auth = await resolveRegistryAuth(ctx.host, registry, ctx.env, { password: ctx.secrets['registry.password'] });
  const { images } = await ctx.docker();
  say(`Pulling ${ref}…`);
  const pulled = await images.pull(ref, auth, { signal: ctx.signal });
  if (pulled.id !== image.id) {
    throw new OperatorError(`${ref} in the registry is image ${pulled.id}, not ${image.id} as recorded.`, 'Someone pushed over it; push the original again from a backup, or roll back.');
  }
  for (const tag of image.tags) await images.tag(image.id, tag);
  // The pull named the image after the registry; the host had no such tag before the run.
  if (!image.tags.includes(ref)) await images.removeTemporaryTag(image.id, ref);
}

export const createNetworksStep: Step<MigrationContext> = {
  id: 'create-networks',
  title: 'Recreate the networks',
  phase: 'restore',
  async run(ctx, progress) {
    const { networks } = await ctx.docker();
    const recorded = selectedNetworks(ctx.recorded);
    for (const { name } of paramsOf(ctx, 'create-networks').networks) {
      const network = recorded.find((n) => n.name === name);
      if (!network) throw new Error(`inventory.json has no network ${name}`);
      await networks.create(network);
      progress.say(`Network ${network.name} (${network.driver})`);
    }
  },
};

export const createVolumesStep: Step<MigrationContext> = {
  id: 'create-volumes',
  title: 'Restore the volumes',
  phase: 'restore',
  async run(ctx, progress) {
    const { volumes } = await ctx.docker();
    const carried = journalled(ctx, 'carry-volumes', 'carried-volumes');
    const carriedByRename = carried !== undefined && carried.data.method !== 'none';
    for (const name of paramsOf(ctx, 'create-volumes').volumes) {
      throwIfInterrupted(ctx, 'the volume restore');
      const volume = recordedVolume(ctx.recorded, name);
      await volumes.create(volume);
      const key = `volume-restored:${volume.name}`;
      const definitionOnly = !keepsFilesOnHost(volume);
      if (carriedByRename || definitionOnly || ctx.store.isUnitDone(key)) {
        progress.say(`Volume ${volume.name}${definitionOnly ? ` (${volume.remote ? 'remote' : 'tmpfs'}: options only)` : ''}`);
        continue;
      }
      // Not carried (the old data-root had none to carry): extract the archive, safely.
      const archive = ctx.store.state.units[`volume:${volume.name}`]?.details as { file?: string; sha256?: string } | undefined;
      if (!archive?.file) {
        progress.say(`Volume ${volume.name}: no data was carried or archived`);
        continue;
      }
      const file = path.join(archiveDir(ctx, 'volumes'), archive.file);
      await requireArchiveAsWritten(ctx, `volume ${volume.name}`, file, archive.sha256);
      // Device nodes only as root, into the volume (the archive was made from it): what the
      // container had; never into anywhere else (the extraction keeps to the mountpoint).
      const extracted = await extractArchive(createReadStream(file, { highWaterMark: ARCHIVE_READ_BYTES }), volume.mountpoint, {
        expectedSha256: archive.sha256,
        writeXattrs: hostXattrWriter(ctx.host),
        makeNode: hostNodeMaker(ctx.host),
        allowDevices: process.getuid?.() === 0,
        signal: ctx.signal,
      });
      await ctx.store.markUnitDone(key, { from: archive.file });
      progress.say(`Volume ${volume.name}: extracted from ${archive.file}`);
      for (const entry of [...extracted.skipped, ...extracted.warnings]) progress.say(`Note: volume ${volume.name}: ${entry.path}: ${entry.reason}`);
    }
  },
};

export const createContainersStep: Step<MigrationContext> = {
  id: 'create-containers',
  title: 'Recreate the containers',
  phase: 'restore',
  async run(ctx, progress) {
    const { containers } = await ctx.docker();
    const containerNames = Object.fromEntries(ctx.recorded.inspects.map((i) => [i.Id, i.Name.replace(/^\//, '')]));
    let finished = 0;
    // In the plan's order: every container after those it depends on.
    for (const { name } of paramsOf(ctx, 'create-containers').containers) {
      throwIfInterrupted(ctx, 'the container restore');
      const inspect = inspectOf(ctx.recorded, name);
      const id = await containers.recreate(inspect, { containerNames, onNote: (note) => progress.say(note) });
      await ctx.store.markUnitDone(`container:${name}`, { id });
      const layer = ctx.store.state.units[`layer:${name}`]?.details as { file?: string; sha256?: string } | undefined;
      if (layer?.file && !ctx.store.isUnitDone(`layer-restored:${name}`)) {
        const file = path.join(archiveDir(ctx, 'layers'), layer.file);
        await requireArchiveAsWritten(ctx, `writable layer of ${name}`, file, layer.sha256);
        await containers.restoreWritableLayer(id, file);
        await ctx.store.markUnitDone(`layer-restored:${name}`, { id });
      }
      progress.say(`Container ${name}`);
      if (++finished === 1) testKillPoint('create-containers', 'middle');
    }
  },
};

export const startContainersStep: Step<MigrationContext> = {
  id: 'start-containers',
  title: 'Start the containers that were running',
  phase: 'restore',
  async run(ctx, progress) {
    const { containers } = await ctx.docker();
    const failed: string[] = [];
    // One container that does not start must not keep the others down: report it, go on; verify names it.
    const planned = paramsOf(ctx, 'start-containers');
    // Wave after wave, every container of a wave at once (a plan without waves: one by one, in order).
    for (const wave of planned.waves ?? planned.containers.map((name) => [name])) {
      await Promise.all(
        wave.map(async (name) => {
          try {
            const result = await containers.start([name]);
            progress.say(`${name}: ${result[name]}`);
          } catch (error) {
            failed.push(name);
            progress.say(`${name} did not start: ${(error as Error).message}`);
          }
        }),
      );
    }
    await ctx.store.setNote('containersNotStarted', failed);
    // Paused when the run began: paused again, as they were (the stop had to unpause them).
    const paused = planned.pause.filter((name) => !failed.includes(name));
    if (paused.length) {
      const notPaused = await containers.pause(paused);
      progress.say(notPaused.length ? `Could not pause again: ${notPaused.join('; ')}` : `Paused again: ${paused.join(', ')}`);
    }
  },
};

function recordedSha256(ctx: MigrationContext, key: string): string | undefined {
  return (ctx.store.state.units[key]?.details as { sha256?: string } | undefined)?.sha256;
}

/**
 * Refuses an archive whose bytes are not those the run wrote (the sha256 recorded when it was
 * written), right before it is extracted: what a run restores as root must be what it kept, not
 * what someone put in its place (issue 19 item 11). Image archives are checked during their
 * load instead (LoadOptions.sha256), with the same message. Archives of runs that recorded no
 * sha256 (none do now) are taken as they are.
 */
async function requireArchiveAsWritten(ctx: MigrationContext, what: string, file: string, sha256: string | undefined): Promise<void> {
  if (!sha256) return;
  const now = await sha256OfFile(file, ctx.signal);
  if (now === sha256.replace(/^sha256:/, '')) return;
  throw archiveNotAsWritten(what, file, sha256, now);
}

/** The refusal of an archive that is gone (`found` undefined) or whose sha256 is not the one recorded. */
function archiveNotAsWritten(what: string, file: string, recorded: string, found: string | undefined): OperatorError {
  return new OperatorError(
    found === undefined
      ? `The archive of the ${what}, ${file}, is gone.`
      : `The archive of the ${what}, ${file}, changed since this run wrote it (its sha256 is ${found}, the run recorded ${recorded.replace(/^sha256:/, '')}); it is not restored.`,
    'Find out what changed it. Put the original back from another copy and run `devmapper-migrate resume`, or run `devmapper-migrate rollback`.',
  );
}
