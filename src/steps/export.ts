/**
 * Export phase: images go into safe keeping while the containers still run (images do not
 * change, so this is not downtime). Every image is its own unit in the state file: a resumed
 * run skips the ones whose archives verify and redoes the rest.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { resolveRegistryAuth } from '../config/registry-auth.js';
import { verifyImageArchive } from '../docker/image-archive.js';
import { removePartialArchives } from '../docker/images.js';
import { mapLimit } from '../map-limit.js';
import { formatBytes } from '../report/format.js';
import type { MigrationContext } from './context.js';
import type { JournalEntry } from '../state/types.js';
import { recordedImage } from '../record/selection.js';
import { journalOnce } from './journal.js';
import { paramsOf } from './params.js';
import { testKillPoint } from './test-hooks.js';
import { secondsSince, throwIfInterrupted } from './progress.js';
import type { Step } from './step.js';

/** Saves and pushes run two at a time: the daemon and the disk keep up, and one slow image does not hold the rest. */
const CONCURRENCY = 2;

export const saveImagesStep: Step<MigrationContext> = {
  id: 'save-images',
  title: 'Save the images',
  phase: 'export',
  async run(ctx, progress) {
    const planned = paramsOf(ctx, 'save-images').images;
    const dirs = [...new Set(planned.map((i) => path.dirname(i.archive)))];
    for (const dir of dirs) {
      await mkdir(dir, { recursive: true, mode: 0o700 }); // our own directory, not a system one
      const leftovers = await removePartialArchives(dir);
      if (leftovers.length) ctx.log(`removed ${leftovers.length} partial archive(s) of an interrupted save`);
    }
    const { images } = await ctx.docker();
    let finished = 0;
    await mapLimit(planned, CONCURRENCY, async (plannedImage) => {
      throwIfInterrupted(ctx, 'the image saves');
      const image = recordedImage(ctx.recorded, plannedImage.imageId);
      const name = plannedImage.label;
      const key = `image:${image.id}`;
      const file = plannedImage.archive;
      const recorded = ctx.store.state.units[key]?.details as { sha256?: string } | undefined;
      if (recorded && (await verifyImageArchive(file, image, { expectedSha256: recorded.sha256, signal: ctx.signal }))) {
        progress.say(`${name}: saved before, archive verified`);
        return;
      }
      if (plannedImage.names.includes(image.id)) progress.say(`Image ${name} has no tag: saved by its ID`);
      progress.say(`Saving image ${name} (${formatBytes(image.size)})…`);
      const started = Date.now();
      const saved = await images.save(image, file, {
        signal: ctx.signal,
        onProgress: (doneBytes) => progress.transfer({ label: name, doneBytes, totalBytes: image.size > 0 ? image.size : undefined }),
      });
      await ctx.store.markUnitDone(key, { file: path.basename(file), sha256: saved.sha256, bytes: saved.bytes, tags: image.tags });
      progress.say(`Saved ${name} in ${secondsSince(started)} (${formatBytes(saved.bytes)})`);
      if (++finished === 1) testKillPoint('save-images', 'middle');
    });
  },
};

export const pushImagesStep: Step<MigrationContext> = {
  id: 'push-images',
  title: 'Push the images to the registry',
  phase: 'export',
  async run(ctx, progress) {
    const registry = ctx.answers.registry;
    if (!registry) throw new Error('push-images without registry answers');
    const planned = paramsOf(ctx, 'push-images');
    const auth = await resolveRegistryAuth(ctx.host, registry, ctx.env, {
      password: ctx.secrets['registry.password'],
      onWarning: (message) => progress.say(message),
    });
    const { images } = await ctx.docker();
    // One image's tags in turn, never side by side: the first tag uploads the layers, the
    // others then need only their manifest (two tags of one image pushed at once made Debian's
    // registry answer 500). Different images still go two at a time.
    const pushesByImage = planned.images.map((image) => image.refs.map(({ source, target }) => ({ image: { id: image.imageId }, sourceRef: source, targetRef: target })));
    const pushes = pushesByImage.flat();
    // Journalled before the first tag: a kill between a tag and its removal leaves the tag, and undo removes it.
    const tagged = await journalOnce(ctx, 'push-images', 'tagged-for-push', { tags: await tagsToAdd(ctx, pushes) });
    const ours = new Set(((tagged.data.tags as { ref: string }[] | undefined) ?? []).map((t) => t.ref));
    let finished = 0;
    const pushOne = async ({ sourceRef, targetRef }: { sourceRef: string; targetRef: string }): Promise<void> => {
      throwIfInterrupted(ctx, 'the image pushes');
      const key = `push:${sourceRef}`;
      if (ctx.store.isUnitDone(key)) {
        progress.say(`${sourceRef}: pushed before`);
        return;
      }
      progress.say(`Pushing ${sourceRef} to ${targetRef}…`);
      const started = Date.now();
      const pushed = await images.push({ sourceRef, targetRef, auth, signal: ctx.signal, ownTag: ours.has(targetRef), onRetry: (message) => progress.say(message) });
      await ctx.store.markUnitDone(key, { targetRef, digest: pushed.digest });
      progress.say(`Pushed ${sourceRef} as ${targetRef}@${pushed.digest} in ${secondsSince(started)}`);
      if (++finished === 1) testKillPoint('push-images', 'middle');
    };
    try {
      await mapLimit(pushesByImage, CONCURRENCY, async (tags) => {
        for (const push of tags) await pushOne(push);
      });
    } finally {
      await closeWhenUntagged(ctx, tagged);
    }
  },
};

/** The push tags the host does not have yet (ones it had before are the operator's, and stay). */
async function tagsToAdd(ctx: MigrationContext, pushes: { image: { id: string }; targetRef: string }[]): Promise<{ imageId: string; ref: string }[]> {
  const { images } = await ctx.docker();
  const out: { imageId: string; ref: string }[] = [];
  for (const { image, targetRef } of pushes) if ((await images.idOf(targetRef)) === undefined) out.push({ imageId: image.id, ref: targetRef });
  return out;
}

/**
 * Each push removes its tag again, also when it fails; once none is left the entry is done,
 * so a push that failed counts as no change to the host (nothing to roll back, exit 4).
 * Left open when a tag remains or the daemon cannot tell: undo removes what is there.
 */
async function closeWhenUntagged(ctx: MigrationContext, entry: JournalEntry): Promise<void> {
  try {
    const { images } = await ctx.docker();
    // A hold a kill left (see removeTemporaryTag) goes too: a resumed step whose pushes were all done makes no other call that would.
    await images.removeHolds();
    const present = await images.tags();
    const left = ((entry.data.tags as { imageId: string; ref: string }[] | undefined) ?? []).filter(({ imageId, ref }) => present.get(imageId)?.includes(ref));
    if (left.length) return;
    entry.undoneAt = new Date().toISOString();
    await ctx.store.save();
  } catch {
    // The entry stays open; a rollback looks again.
  }
}
