// The export steps against an in-memory daemon behind the doors: what they ask of it, what
// they record in the run's state, and what a resumed (re-run) step does again and what not.
import { readdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/docker/types.js';
import { archiveDir } from '../../../src/steps/quiesce.js';
import { fakeImageArchive } from '../docker/fake-image-archive.js';
import { inventory, recorded as recordedHost } from '../verify/helpers.js';
import { FakeDocker } from './fake-docker.js';
import { answersFor, removeStepDirs, stepTest } from './step-context.js';

afterEach(removeStepDirs);

/** A host with two images whose archives verify (docker save's shape), and a daemon that has them. */
async function twoImages() {
  const web = await fakeImageArchive({ tags: ['app/web:1.0', 'app/web:latest'] });
  const db = await fakeImageArchive({ tags: ['db:5'], layers: [Buffer.from('db layer')] });
  const images: ImageRecord[] = [web.image, db.image];
  const docker = new FakeDocker();
  for (const { image, archive } of [web, db]) {
    docker.imageTags.set(image.id, [...image.tags]);
    docker.archiveOf.set(image.id, archive);
  }
  const base = recordedHost();
  const recorded = {
    ...base,
    inventory: inventory('devicemapper', base.inspects, { images }),
    selection: { ...base.selection, images: images.map((i) => i.id) },
  };
  return { docker, recorded, images };
}

describe('save-images', () => {
  it('saves each selected image once into the run’s images directory and records its sha256', async () => {
    const { docker, recorded, images } = await twoImages();
    const t = await stepTest({ recorded, docker, steps: ['save-images'] });
    expect(await t.run('save-images')).toBe('done');
    expect(docker.callsOf('images.save').sort()).toEqual(images.map((i) => i.id).sort());
    for (const image of images) {
      const unit = t.store.state.units[`image:${image.id}`];
      expect(t.store.isUnitDone(`image:${image.id}`)).toBe(true);
      expect((unit?.details as { sha256: string }).sha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect((await readdir(archiveDir(t.ctx, 'images'))).sort()).toEqual(images.map((i) => `${i.id.slice(7)}.tar`).sort());
    // Saving changes nothing that a rollback would have to undo.
    expect(t.store.state.journal).toEqual([]);
  });

  it('resumed after one image was saved: keeps the verified archive, saves only the other, and drops a partial file', async () => {
    const { docker, recorded, images } = await twoImages();
    const t = await stepTest({ recorded, docker, steps: ['save-images'] });
    docker.failures.set('images.save', new Error('killed'));
    // The first save in the step fails; mapLimit runs two at once, so one of them is done.
    await expect(t.run('save-images')).rejects.toThrow('killed');
    const saved = images.filter((i) => t.store.isUnitDone(`image:${i.id}`));
    expect(saved).toHaveLength(1);
    await writeFile(`${archiveDir(t.ctx, 'images')}/leftover.tar.partial`, 'half');
    docker.calls.length = 0;

    await t.rerun('save-images');
    expect(docker.callsOf('images.save')).toEqual(images.filter((i) => i !== saved[0]).map((i) => i.id));
    expect(t.said).toContain(`${saved[0]!.tags[0]}: saved before, archive verified`);
    expect((await readdir(archiveDir(t.ctx, 'images'))).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('saves again an image whose archive changed since it was recorded', async () => {
    const { docker, recorded, images } = await twoImages();
    const t = await stepTest({ recorded, docker });
    await t.rerun('save-images');
    await writeFile(`${archiveDir(t.ctx, 'images')}/${images[0]!.id.slice(7)}.tar`, 'not the archive');
    docker.calls.length = 0;
    await t.rerun('save-images');
    expect(docker.callsOf('images.save')).toEqual([images[0]!.id]);
  });
});

describe('push-images', () => {
  const registry = { address: 'reg.example:5000', repositoryPrefix: 'migrated/', insecure: false };
  const withPush = (stateDir: string) => answersFor(stateDir, { images: { include: ['*'], exclude: [], save: false, push: true }, registry } as never);

  it('journals the temporary tags before pushing, pushes every tag (an untagged image by ID), and closes the entry once they are gone', async () => {
    const t = await stepTest({ recorded: recordedHost(), answers: withPush });
    const [tagged, untagged] = t.ctx.recorded.inventory.images as [ImageRecord, ImageRecord];
    t.docker.imageTags.set(tagged.id, [...tagged.tags]);
    t.docker.imageTags.set(untagged.id, []);
    await t.rerun('push-images');

    const targets = ['reg.example:5000/migrated/app:1', 'reg.example:5000/migrated/app:latest', `reg.example:5000/migrated/untagged:${untagged.id.replace('sha256:', 'sha256-')}`];
    expect(t.docker.callsOf('images.push').map((c) => c.split(' ')[1]).sort()).toEqual([...targets].sort());
    const entry = t.store.state.journal.find((e) => e.kind === 'tagged-for-push');
    expect((entry?.data.tags as { ref: string }[]).map((x) => x.ref).sort()).toEqual([...targets].sort());
    // The fake push leaves no tag behind, so nothing is left to undo.
    expect(entry?.undoneAt).toBeDefined();
    for (const ref of ['app:1', 'app:latest', untagged.id]) expect(t.store.isUnitDone(`push:${ref}`)).toBe(true);
    expect([...t.docker.registry.values()].sort()).toEqual([tagged.id, tagged.id, untagged.id].sort());
  });

  it('resumed: pushes only what was not pushed, and journals its tags once', async () => {
    const t = await stepTest({ recorded: recordedHost(), answers: withPush });
    const [tagged, untagged] = t.ctx.recorded.inventory.images as [ImageRecord, ImageRecord];
    t.docker.imageTags.set(tagged.id, [...tagged.tags]);
    t.docker.imageTags.set(untagged.id, []);
    await t.store.journal('push-images', 'tagged-for-push', { tags: [{ imageId: tagged.id, ref: 'reg.example:5000/migrated/app:1' }] });
    await t.store.markUnitDone('push:app:1', { targetRef: 'reg.example:5000/migrated/app:1', digest: 'sha256:x' });
    await t.rerun('push-images');
    expect(t.docker.callsOf('images.push').map((c) => c.split(' ')[0]).sort()).toEqual(['app:latest', untagged.id].sort());
    expect(t.store.state.journal.filter((e) => e.kind === 'tagged-for-push')).toHaveLength(1);
    expect(t.said).toContain('app:1: pushed before');
  });
});
