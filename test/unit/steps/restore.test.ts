// The restore steps against in-memory daemons behind the doors: the archives the export and
// quiesce steps kept from the old daemon come back on a new, empty one; a resumed step does
// only what is missing; an archive changed since it was written is refused.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IMAGE_ID, OTHER_IMAGE_ID, recorded as recordedHost } from '../verify/helpers.js';
import { archiveDir } from '../../../src/steps/quiesce.js';
import { FakeDocker } from './fake-docker.js';
import { answersFor, removeStepDirs, stepTest } from './step-context.js';

afterEach(removeStepDirs);

/** A run whose images and layers were kept from the old daemon; the context then talks to a new, empty one. */
async function keptThenCutOver() {
  const recorded = recordedHost();
  const old = new FakeDocker();
  old.imageTags.set(IMAGE_ID, ['app:1', 'app:latest']);
  old.imageTags.set(OTHER_IMAGE_ID, []);
  for (const inspect of recorded.inspects) {
    old.containerList.push({ id: inspect.Id, name: inspect.Name.slice(1), imageId: inspect.Image, running: inspect.State.Running, inspect });
  }
  const t = await stepTest({ recorded, docker: old });
  await t.rerun('save-images');
  await t.rerun('save-writable-layers');
  const target = new FakeDocker();
  t.ctx.docker = async () => target;
  return { ...t, target };
}

describe('load-images', () => {
  it('loads each kept archive into the new daemon, which then has every recorded tag', async () => {
    const t = await keptThenCutOver();
    await t.rerun('load-images');
    expect(t.target.callsOf('images.load')).toHaveLength(2);
    expect(Object.fromEntries(await t.target.images.tags())).toEqual({ [IMAGE_ID]: ['app:1', 'app:latest'], [OTHER_IMAGE_ID]: [] });
  });

  it('resumed half-done: loads only the image that is missing and puts back a tag that is missing', async () => {
    const t = await keptThenCutOver();
    t.target.imageTags.set(IMAGE_ID, ['app:1']);
    await t.rerun('load-images');
    expect(t.target.calls.filter((c) => c.startsWith('images.load'))).toHaveLength(1);
    expect(t.target.callsOf('images.tag')).toEqual([`${IMAGE_ID} app:latest`]);
    expect(t.target.imageTags.get(IMAGE_ID)).toEqual(['app:1', 'app:latest']);

    t.target.calls.length = 0;
    await t.rerun('load-images');
    expect(t.target.calls).toEqual([]);
  });

  it('loads two archives at once: the second starts while the first is still loading', async () => {
    const t = await keptThenCutOver();
    const load = t.target.images.load;
    let inFlight = 0;
    let most = 0;
    let bothStarted!: () => void;
    const second = new Promise<void>((resolve) => (bothStarted = resolve));
    t.target.images.load = async (file, options) => {
      most = Math.max(most, ++inFlight);
      if (inFlight === 2) bothStarted();
      // One at a time, the first load would wait here for a second that never starts: a bound, not a hang.
      await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 1_000))]);
      await load(file, options);
      inFlight--;
    };
    await t.rerun('load-images');
    expect(most).toBe(2);
    expect(Object.fromEntries(await t.target.images.tags())).toEqual({ [IMAGE_ID]: ['app:1', 'app:latest'], [OTHER_IMAGE_ID]: [] });
  });

  it('one load fails: the other still lands, the step fails with the first error, and a resume loads only what is missing', async () => {
    const t = await keptThenCutOver();
    const load = t.target.images.load;
    t.target.images.load = async (file, options) => {
      if (file.includes(IMAGE_ID.slice(7))) throw new Error('daemon went away');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await load(file, options);
    };
    await expect(t.rerun('load-images')).rejects.toThrow(/daemon went away/);
    expect([...t.target.imageTags.keys()]).toEqual([OTHER_IMAGE_ID]);

    t.target.images.load = load;
    t.target.calls.length = 0;
    await t.rerun('load-images');
    expect(t.target.callsOf('images.load')).toEqual([expect.stringContaining(IMAGE_ID.slice(7))]);
    expect(t.target.imageTags.get(IMAGE_ID)).toEqual(['app:1', 'app:latest']);
  });

  it('refuses an archive whose bytes changed since the run wrote it, and loads nothing of it', async () => {
    const t = await keptThenCutOver();
    await writeFile(join(archiveDir(t.ctx, 'images'), `${IMAGE_ID.slice(7)}.tar`), 'someone else’s bytes');
    await expect(t.rerun('load-images')).rejects.toThrow(/changed since this run wrote it/);
    // The check rides on the load itself (the daemon gets no complete archive): nothing of it is on the daemon.
    expect(t.target.imageTags.has(IMAGE_ID)).toBe(false);
  });
});

describe('create-networks and create-volumes', () => {
  it('create each selected network and volume as recorded; run again, they ask for the same and change nothing', async () => {
    const t = await keptThenCutOver();
    await t.rerun('create-networks');
    await t.rerun('create-volumes');
    expect(t.target.calls).toEqual(['networks.create appnet', 'volumes.create data']);
    expect(t.target.networkList.get('appnet')).toEqual(t.ctx.recorded.inventory.networks[0]);
    expect(t.said).toContain('Volume data: no data was carried or archived');

    t.target.calls.length = 0;
    await t.rerun('create-networks');
    await t.rerun('create-volumes');
    expect(t.target.calls).toEqual([]);
  });
});

describe('a remote volume (workload.ts: remote-volumes)', () => {
  it('is recreated with the same driver and options, and none of its contents is archived or extracted', async () => {
    const recorded = recordedHost();
    const nfs = { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/export/data' };
    Object.assign(recorded.inventory.volumes[0]!, { options: nfs, remote: true });
    const archiving = (stateDir: string) => {
      const answers = answersFor(stateDir);
      return { ...answers, volumes: { ...answers.volumes, archive: true } };
    };
    const t = await stepTest({ recorded, answers: archiving });
    expect(t.ctx.plan.steps.flatMap((s) => (s.params.id === 'archive-volumes' || s.params.id === 'record-volumes' ? s.params.volumes : []))).toEqual([]);
    const target = new FakeDocker();
    t.ctx.docker = async () => target;
    await t.rerun('create-volumes');
    expect(target.volumeList.get('data')).toMatchObject({ name: 'data', driver: 'local', options: nfs });
    expect(t.said).toContain('Volume data (remote: options only)');
  });
});

describe('create-containers and start-containers', () => {
  it('recreates the containers dependencies first, puts each kept layer back once, and starts only those that ran', async () => {
    const t = await keptThenCutOver();
    await t.rerun('create-containers');
    // side shares web's network namespace: web first.
    expect(t.target.callsOf('containers.recreate')).toEqual(['web', 'side']);
    const ids = Object.fromEntries(t.target.containerList.map((c) => [c.name, c.id]));
    expect(t.target.callsOf('containers.restoreWritableLayer').map((c) => c.split(' ')[0])).toEqual([ids.web, ids.side]);
    expect(t.store.state.units['container:web']?.details).toEqual({ id: ids.web });
    expect(t.store.isUnitDone('layer-restored:side')).toBe(true);

    await t.rerun('start-containers');
    expect(t.target.callsOf('containers.start')).toEqual(['web']);
    expect(t.store.state.notes.containersNotStarted).toEqual([]);
  });

  it('resumed after web was made: finds web, makes side, and does not put web’s layer back twice', async () => {
    const t = await keptThenCutOver();
    await t.rerun('create-containers');
    // As if the process died right after web: side and its units are not there yet.
    t.target.containerList.splice(1);
    for (const key of ['container:side', 'layer-restored:side']) await t.store.forgetUnit(key);
    t.target.calls.length = 0;

    await t.rerun('create-containers');
    expect(t.target.callsOf('containers.recreate')).toEqual(['side']);
    expect(t.target.callsOf('containers.restoreWritableLayer')).toHaveLength(1);
    expect(t.target.callsOf('containers.restoreWritableLayer')[0]).toMatch(/side\.tar$/);
  });

  it('goes on past a container that does not start, and records it', async () => {
    const recorded = recordedHost();
    recorded.inventory.containers.find((c) => c.name === 'side')!.running = true;
    const t = await stepTest({ recorded });
    await t.rerun('create-containers');
    t.docker.failures.set('containers.start', new Error('port is already allocated'));
    await t.rerun('start-containers');
    expect(t.docker.callsOf('containers.start')).toEqual(['web', 'side']);
    expect(t.store.state.notes.containersNotStarted).toEqual(['web']);
    expect(t.said).toContain('web did not start: port is already allocated');
  });
});
