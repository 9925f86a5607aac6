// The run's own verify step against an in-memory daemon behind the doors and a fixture host:
// it reads the daemon (inventory, inspects), compares, writes report.json and report.txt, and
// records the count; it changes nothing, so running it again gives the same report.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerInspect } from '../../../src/docker/create-spec.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { migrated, recorded as recordedHost } from '../verify/helpers.js';
import { FakeDocker } from './fake-docker.js';
import { removeStepDirs, stepTest } from './step-context.js';

const roots: string[] = [];
afterEach(async () => {
  removeStepDirs();
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A host whose daemon.json names overlay2 and nothing of devicemapper is left. */
async function migratedHost(): Promise<FixtureHost> {
  const root = await mkdtemp(join(tmpdir(), 'dmm-verify-host-'));
  roots.push(root);
  await mkdir(join(root, 'etc', 'docker'), { recursive: true });
  await writeFile(join(root, 'etc', 'docker', 'daemon.json'), '{\n  "storage-driver": "overlay2"\n}\n');
  return new FixtureHost(root);
}

/** A daemon that holds the migrated host: its inventory and the new containers' inspects. */
function migratedDaemon(changeWeb: (i: ContainerInspect) => void = () => {}): FakeDocker {
  const now = migrated(changeWeb);
  const docker = new FakeDocker();
  docker.inventoryNow = now.inventory;
  for (const inspect of now.inspects) {
    docker.containerList.push({ id: inspect.Id, name: inspect.Name.slice(1), imageId: inspect.Image, running: inspect.State.Running, inspect });
  }
  return docker;
}

async function verifyRun(docker: FakeDocker) {
  const t = await stepTest({ recorded: recordedHost(), docker, host: await migratedHost(), steps: ['verify'] });
  expect(await t.run('verify')).toBe('done');
  const report = JSON.parse(await readFile(t.store.path('report.json'), 'utf8')) as { differences: number; entries: { key: string }[] };
  return { ...t, report };
}

describe('verify (the run’s last step)', () => {
  it('finds a faithful migration clean, writes both reports and records no difference', async () => {
    const { store, said, report, docker } = await verifyRun(migratedDaemon());
    expect(report.differences).toBe(0);
    expect(await readFile(store.path('report.txt'), 'utf8')).not.toBe('');
    expect(store.state.notes.verifyDifferences).toBe(0);
    expect(said).toEqual(['The host matches the inventory']);
    // Read only: nothing was asked of the daemon that changes it.
    expect(docker.calls).toEqual([]);
  });

  it('names a changed label, and the step still ends (the report is the result)', async () => {
    const { store, report } = await verifyRun(migratedDaemon((i) => (i.Config.Labels = { ...i.Config.Labels, tier: 'back' })));
    expect(report.differences).toBeGreaterThan(0);
    expect(JSON.stringify(report.entries)).toMatch(/tier/);
    expect(store.state.notes.verifyDifferences).toBe(report.differences);
    expect(store.step('verify').status).toBe('done');
  });

  it('run again (resume after a kill before its end): the same report', async () => {
    const t = await verifyRun(migratedDaemon());
    await t.rerun('verify');
    const again = JSON.parse(await readFile(t.store.path('report.json'), 'utf8')) as { checkedAt: string };
    expect({ ...again, checkedAt: undefined }).toEqual({ ...t.report, checkedAt: undefined });
  });
});

describe('check-volumes', () => {
  it('reads nothing when the run recorded no volume files', async () => {
    const docker = migratedDaemon();
    const t = await stepTest({ recorded: recordedHost(), docker });
    await t.rerun('check-volumes');
    expect(t.said).toEqual(['No volume files were recorded']);
    expect(await t.store.readJson('volume-trees-restored.json')).toBeUndefined();
  });

  /** A run that recorded the files of `data`, whose restored copy is at a real directory now. */
  async function restoredVolume() {
    const dir = await mkdtemp(join(tmpdir(), 'dmm-restored-volume-'));
    roots.push(dir);
    await writeFile(join(dir, 'db.sqlite'), 'rows');
    const docker = migratedDaemon();
    docker.inventoryNow = { ...docker.inventoryNow!, volumes: docker.inventoryNow!.volumes.map((v) => (v.name === 'data' ? { ...v, mountpoint: dir } : v)) };
    const t = await stepTest({ recorded: recordedHost(), docker });
    await t.store.writeJson('volume-trees.json', { version: 1, recordedAt: '', content: false, volumes: [{ name: 'data', path: '/var/lib/docker/volumes/data/_data', entries: [] }] });
    return { ...t, dir };
  }

  it('reads the volumes its parameters name, at their mountpoints now', async () => {
    const t = await restoredVolume();
    await t.rerun('check-volumes');
    const trees = (await t.store.readJson('volume-trees-restored.json')) as Record<string, { path: string; entries: { path: string }[] }>;
    expect(Object.keys(trees)).toEqual(['data']);
    expect(trees.data!.path).toBe(t.dir);
    expect(JSON.stringify(trees.data!.entries)).toMatch(/db\.sqlite/);
    expect(t.said).toEqual(['Read the files of 1 volume(s)']);
  });

  it('reads only what its parameters name (plan.json), never the selection again', async () => {
    const t = await restoredVolume();
    const planned = t.ctx.plan.steps.find((s) => s.id === 'check-volumes')!;
    planned.params = { id: 'check-volumes', volumes: [] };
    await t.rerun('check-volumes');
    expect(await t.store.readJson('volume-trees-restored.json')).toEqual({});
    expect(t.said).toEqual(['Read the files of 0 volume(s)']);
  });
});
