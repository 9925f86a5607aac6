// Issue 19, items 1 and 3: the direct-lvm build never touches the host's own pool (Docker's
// documented docker/thinpool), and writes only to the disk recorded when the run was planned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeDeviceIdentity, type DeviceIdentity } from '../../../src/facts/device-identity.js';
import { directLvmCommands, runPool } from '../../../src/plan/direct-lvm.js';
import type { StepParams } from '../../../src/plan/plan.js';
import type { MigrationContext } from '../../../src/steps/context.js';
import { RunStore } from '../../../src/state/run-store.js';
import { stepById } from '../../../src/steps/catalog.js';
import { UNDO_HANDLERS } from '../../../src/steps/undo-handlers.js';
import { undoJournal } from '../../../src/steps/undo.js';
import { diskTree, documentedPool, FakeLvmHost, type FakeDisk, type FakeLvm } from './fake-lvm-host.js';

const RUN_ID = '20261207-003120-ab12';
const POOL = runPool(RUN_ID);
const OLD_DISK: FakeDisk = { kname: 'vdb', devno: '254:16', sizeBytes: 4 * 2 ** 30, serial: 'old-pool' };
const NEW_DISK: FakeDisk = { kname: 'vdc', devno: '254:32', sizeBytes: 2 * 2 ** 30, serial: 'spare' };
const PROGRESS = { say: () => undefined, transfer: () => undefined };

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  lvm?: FakeLvm;
  disks?: FakeDisk[];
  busy?: string[];
  /** The identity recorded at plan time; by default the new disk's as the tree shows it. */
  recorded?: DeviceIdentity | null;
  bootId?: string;
  /** directLvm answers that differ in the plan (plan.json) from the context's. */
  planned?: { wipeSignatures?: boolean };
}

async function setup(options: Setup = {}) {
  const root = diskTree(options.disks ?? [OLD_DISK, NEW_DISK], options.bootId);
  cleanup.push(root);
  const host = new FakeLvmHost(root, options.lvm ?? documentedPool(), ['/dev/vdb', '/dev/vdc'], options.busy);
  const recorded = options.recorded === undefined ? await probeDeviceIdentity(host, '/dev/vdc') : (options.recorded ?? undefined);
  const stateDir = join(mkdtempSync(join(tmpdir(), 'dmm-pool-state-')), 'state');
  cleanup.push(join(stateDir, '..'));
  const store = await RunStore.create(stateDir, { dockerHost: 'unix:///x.sock', daemonConfig: '/etc/docker/daemon.json' }, [{ id: 'build-thin-pool', title: 'Build' }], {
    runId: RUN_ID,
    notes: recorded ? { targetDevice: recorded } : {},
  });
  const directLvm = { device: '/dev/vdc', wipeSignatures: true, thinpoolPercent: 95, metadataPercent: 1, autoextendThreshold: 80, autoextendPercent: 20 };
  // The step's parameters as `run` plans them (src/cli/commands/run.ts).
  const params: StepParams = { id: 'build-thin-pool', device: '/dev/vdc', ...POOL, commands: directLvmCommands({ ...directLvm, ...options.planned, ...POOL }) };
  const ctx = {
    store,
    host,
    log: () => undefined,
    plan: { steps: [{ id: 'build-thin-pool', phase: 'cutover', title: 'Build', downtime: true, params, actions: [] }] },
    answers: {
      target: 'direct-lvm',
      directLvm,
      service: { manager: 'command', stop: 'true', start: 'true', timeoutSeconds: 10 },
    },
    daemon: { pidFile: '/run/docker.pid' },
    recorded: { inventory: { networks: [] }, selection: { networks: [] }, inspects: [] },
    forgetDocker: () => undefined,
    daemonAnswers: async () => false,
  } as unknown as MigrationContext;
  const build = () => stepById('build-thin-pool').run(ctx, PROGRESS);
  const rollback = () => undoJournal(store, ctx, UNDO_HANDLERS, () => undefined);
  return { host, store, ctx, build, rollback };
}

const hostPool = (lvm: FakeLvm) => ({
  vg: lvm.vgs.find((vg) => vg.name === 'docker'),
  lv: lvm.lvs.find((lv) => lv.vg === 'docker' && lv.name === 'thinpool'),
  pv: lvm.pvs.find((pv) => pv.name === '/dev/vdb'),
});

describe('the new thin pool next to the host’s docker/thinpool (issue 19, item 1)', () => {
  it('a failed vgcreate, and the automatic rollback after it, leave docker/thinpool whole', async () => {
    const { host, build, rollback } = await setup();
    host.failing = 'vgcreate';
    await expect(build()).rejects.toThrow(/vgcreate .*failed/);
    const failures = await rollback();
    expect(failures.map((f) => f.message)).toEqual([]);
    expect(hostPool(host.lvm)).toEqual({
      vg: { name: 'docker', tags: [] },
      lv: { vg: 'docker', name: 'thinpool', attr: 'twi-aot---', tags: [] },
      pv: { name: '/dev/vdb', vg: 'docker' },
    });
    expect(host.changes.filter((c) => /docker\b/.test(c) || c.includes('/dev/vdb'))).toEqual([]);
    // The physical volume the run made on the new disk is gone again.
    expect(host.lvm.pvs.map((pv) => pv.name)).toEqual(['/dev/vdb']);
  });

  it('builds a pool named after the run, every object tagged, each journalled once it exists', async () => {
    const { host, store, build } = await setup();
    await build();
    expect(POOL.vg).toBe('dmmigrate_20261207_003120_ab12');
    expect(host.lvm.vgs.find((vg) => vg.name === POOL.vg)?.tags).toEqual([POOL.tag]);
    expect(host.lvm.lvs.find((lv) => lv.vg === POOL.vg && lv.name === 'thinpool')).toMatchObject({ attr: 'twi-a-tz--', tags: [POOL.tag] });
    expect(host.lvm.pvs).toContainEqual({ name: '/dev/vdc', vg: POOL.vg });
    expect(store.state.journal.map((e) => `${e.kind} ${e.data.name as string}`)).toEqual([
      'created-pv /dev/vdc',
      `created-vg ${POOL.vg}`,
      'created-lv thinpool',
      'created-lv thinpoolmeta',
      'created-thin-pool thinpool',
      `created-lvm-profile /etc/lvm/profile/${POOL.vg}-thinpool.profile`,
    ]);
    expect(hostPool(host.lvm).lv).toBeDefined();
    expect(host.changes.some((c) => /\bdocker\b/.test(c))).toBe(false);
  });

  it('with wipeSignatures on, erases the disk’s signatures (wipefs --all) before it creates the pool, as preflight says (direct-lvm.ts)', async () => {
    const { host, build } = await setup();
    await build();
    const wipe = host.changes.indexOf('wipefs --all /dev/vdc');
    expect(wipe).toBeGreaterThanOrEqual(0);
    expect(wipe).toBeLessThan(host.changes.findIndex((c) => c.startsWith('pvcreate')));
  });

  it('runs the commands of its parameters (plan.json), not ones derived again from the answers', async () => {
    const { host, build } = await setup({ planned: { wipeSignatures: false } });
    await build();
    expect(host.changes.some((c) => c.startsWith('wipefs'))).toBe(false);
    expect(host.changes[0]).toBe('pvcreate /dev/vdc');
  });

  it('journals nothing for an object that was not made: a failed lvcreate leaves only the PV and VG to undo', async () => {
    const { host, store, build, rollback } = await setup();
    host.failing = 'lvcreate';
    await expect(build()).rejects.toThrow(/lvcreate/);
    expect(store.state.journal.map((e) => e.kind)).toEqual(['created-pv', 'created-vg']);
    host.failing = undefined;
    expect(await rollback()).toEqual([]);
    expect(host.lvm).toEqual(documentedPool());
  });

  it('a rollback after the whole build removes the run’s pool, and only it', async () => {
    const { host, build, rollback } = await setup();
    await build();
    expect(await rollback()).toEqual([]);
    expect(host.lvm).toEqual(documentedPool());
    expect(await host.readFile(`/etc/lvm/profile/${POOL.vg}-thinpool.profile`)).toBeUndefined();
  });

  it('refuses a volume group of the run’s name that it did not create, and changes nothing', async () => {
    const lvm = documentedPool();
    lvm.vgs.push({ name: POOL.vg, tags: [] });
    lvm.pvs.push({ name: '/dev/vdd', vg: POOL.vg });
    lvm.lvs.push({ vg: POOL.vg, name: 'thinpool', attr: 'twi-a-tz--', tags: [] });
    const { host, store, build, rollback } = await setup({ lvm });
    await expect(build()).rejects.toThrow(/exists already and was not created by this run/);
    expect(host.changes).toEqual([]);
    expect(store.state.journal).toEqual([]);
    await rollback();
    expect(host.lvm.vgs.map((vg) => vg.name)).toContain(POOL.vg);
  });

  it('undo removes a volume group only while it carries the run’s tag and is on exactly the recorded device', async () => {
    const { host, store, build, rollback } = await setup();
    await build();
    // Someone took the tag off, or put the group on another disk as well: undo leaves it and says so.
    host.lvm.vgs.find((vg) => vg.name === POOL.vg)!.tags = [];
    const failures = await rollback();
    expect(failures.map((f) => f.entry.kind)).toContain('created-vg');
    expect(failures.find((f) => f.entry.kind === 'created-vg')?.message).toMatch(/does not carry the run's LVM tag/);
    expect(host.lvm.vgs.map((vg) => vg.name)).toContain(POOL.vg);
    expect(hostPool(host.lvm).lv).toBeDefined();

    host.lvm.vgs.find((vg) => vg.name === POOL.vg)!.tags = [POOL.tag];
    host.lvm.pvs.push({ name: '/dev/vdb2', vg: POOL.vg });
    for (const entry of store.state.journal) delete entry.undoneAt;
    const again = await rollback();
    expect(again.find((f) => f.entry.kind === 'created-vg')?.message).toMatch(/not only on \/dev\/vdc/);
    expect(host.lvm.vgs.map((vg) => vg.name)).toContain(POOL.vg);
  });

  it('a resume adopts the objects it made before a crash (tagged, not yet journalled) and builds the rest', async () => {
    const lvm = documentedPool();
    lvm.pvs.push({ name: '/dev/vdc', vg: POOL.vg });
    lvm.vgs.push({ name: POOL.vg, tags: [POOL.tag] });
    const { host, store, build } = await setup({ lvm });
    await build();
    expect(host.changes.some((c) => /^(wipefs|pvcreate|vgcreate)/.test(c))).toBe(false);
    expect(store.state.journal.map((e) => e.kind).slice(0, 2)).toEqual(['created-pv', 'created-vg']);
    expect(host.lvm.lvs.find((lv) => lv.vg === POOL.vg)?.attr).toBe('twi-a-tz--');
  });

  it('an old state file’s built-thin-pool entry never removes a volume group on another disk', async () => {
    const { host, store, rollback } = await setup();
    await store.journal('build-thin-pool', 'built-thin-pool', { device: '/dev/vdc', vg: 'docker', pool: 'thinpool', profilePath: '/etc/lvm/profile/docker-thinpool.profile' });
    const failures = await rollback();
    expect(failures[0]?.message).toMatch(/may be the host's own pool/);
    expect(host.lvm).toEqual(documentedPool());
  });
});

describe('the disk to wipe is checked right before it is written (issue 19, item 3)', () => {
  it('refuses another disk under the recorded name (a resume after a reboot), before any write', async () => {
    const planned = await setup();
    const recorded = (await probeDeviceIdentity(planned.host, '/dev/vdc'))!;
    expect(recorded.ids).toContain('serial:spare');
    expect(recorded.ids).toContain('by-id:virtio-spare');
    // After the reboot /dev/vdc is another disk of the same size.
    const { host, store, build } = await setup({ disks: [OLD_DISK, { ...NEW_DISK, serial: 'someone-elses' }], recorded, bootId: 'boot-2' });
    await expect(build()).rejects.toThrow(/Refusing to write to \/dev\/vdc: it may not be the disk this run was planned for .*serial:spare/);
    expect(host.changes).toEqual([]);
    expect(store.state.journal).toEqual([]);
  });

  it('refuses a disk whose size changed', async () => {
    const planned = await setup();
    const recorded = (await probeDeviceIdentity(planned.host, '/dev/vdc'))!;
    const { host, build } = await setup({ disks: [OLD_DISK, { ...NEW_DISK, sizeBytes: 8 * 2 ** 30 }], recorded });
    await expect(build()).rejects.toThrow(/bytes now, 2147483648 bytes when the run was planned/);
    expect(host.changes).toEqual([]);
  });

  it('without stable ids, accepts the same boot and device numbers only', async () => {
    const bare = { ...NEW_DISK, serial: undefined };
    const planned = await setup({ disks: [OLD_DISK, bare] });
    const recorded = (await probeDeviceIdentity(planned.host, '/dev/vdc'))!;
    expect(recorded.ids).toEqual([]);
    const rebooted = await setup({ disks: [OLD_DISK, bare], recorded, bootId: 'boot-2' });
    await expect(rebooted.build()).rejects.toThrow(/no stable id .* rebooted/);
    expect(rebooted.host.changes).toEqual([]);
    const same = await setup({ disks: [OLD_DISK, bare], recorded });
    await same.build();
    expect(same.host.changes[0]).toBe('wipefs --all /dev/vdc');
  });

  it('refuses a disk held by device-mapper (multipath, dm-crypt, md) right before wiping', async () => {
    const { host, build } = await setup({ disks: [OLD_DISK, { ...NEW_DISK, holders: ['dm-7'] }] });
    await expect(build()).rejects.toThrow(/in use now: held by \/dev\/dm-7/);
    expect(host.changes).toEqual([]);
  });

  it('refuses a disk with a mounted partition', async () => {
    const { host, build } = await setup({ disks: [OLD_DISK, { ...NEW_DISK, partitions: [{ name: 'vdc1', mountedAt: '/srv/data' }] }] });
    await expect(build()).rejects.toThrow(/in use now: \/dev\/vdc1 is mounted at \/srv\/data/);
    expect(host.changes).toEqual([]);
  });

  it('refuses a disk that cannot be opened exclusively (EBUSY)', async () => {
    const { host, build } = await setup({ busy: ['/dev/vdc'] });
    await expect(build()).rejects.toThrow(/cannot be opened exclusively \(EBUSY\)/);
    expect(host.changes).toEqual([]);
  });

  it('re-checks before each write: a disk taken between wipefs and pvcreate is not made a PV', async () => {
    const { host, build } = await setup();
    const run = host.run.bind(host);
    host.run = async (command, args, options) => {
      const result = await run(command, args, options);
      // Something claims the disk right after the wipe (a multipath daemon, an md assembly).
      if (command === 'wipefs') host.busyDevice('/dev/vdc');
      return result;
    };
    await expect(build()).rejects.toThrow(/EBUSY/);
    expect(host.changes).toEqual(['wipefs --all /dev/vdc']);
  });
});
