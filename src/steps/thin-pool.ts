/**
 * The direct-lvm thin pool: built on the answers' device under a volume group named after the
 * run and tagged with the run's tag (src/plan/direct-lvm.ts), each LVM object journalled once
 * it exists, and undone only when it carries that tag and sits on exactly the recorded device.
 * The host's current pool (often `docker/thinpool`, Docker's documented names) is the rollback
 * until finalize: nothing here may touch an object the run did not create.
 */
import { deviceUsers, identityMismatch, probeDeviceIdentity, type DeviceIdentity } from '../facts/device-identity.js';
import { OperatorError } from '../errors.js';
import type { Host } from '../host/host.js';
import { poolNames, type PoolCommand, type PoolObject } from '../plan/direct-lvm.js';
import type { ThinPool } from '../plan/plan.js';
import type { MigrationContext } from './context.js';
import type { JournalEntry } from '../state/types.js';
import { paramsOf } from './params.js';
import type { Step } from './step.js';
import type { UndoHandler } from './undo.js';

const LVM_RUN = { timeoutMs: 120_000, env: { LC_ALL: 'C' } };
const STEP_ID = 'build-thin-pool';

/** The run's pool: its volume group, pool and LVM tag (from the step's parameters). */
type RunPool = Pick<ThinPool, 'vg' | 'pool' | 'tag'>;

/** The journal kind of each object. */
const KIND: Record<PoolObject['kind'], string> = {
  pv: 'created-pv',
  vg: 'created-vg',
  lv: 'created-lv',
  'thin-pool': 'created-thin-pool',
  profile: 'created-lvm-profile',
};

/** What LVM reports now: volume groups with their tags, physical volumes, logical volumes. */
export interface LvmState {
  vgs: { name: string; tags: string[] }[];
  pvs: { name: string; vg: string }[];
  lvs: { vg: string; name: string; attr: string }[];
}

async function report(host: Host, tool: string, fields: string): Promise<string[][]> {
  const result = await host.run(tool, ['--noheadings', '--separator', '|', '-o', fields], LVM_RUN);
  if (result.exitCode !== 0) {
    throw new OperatorError(`${tool} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`, 'The run cannot tell which LVM objects exist; check LVM (pvs, vgs, lvs) and resume or roll back.');
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('|').map((field) => field.trim()));
}

export async function readLvmState(host: Host): Promise<LvmState> {
  return {
    vgs: (await report(host, 'vgs', 'vg_name,vg_tags')).map(([name = '', tags = '']) => ({ name, tags: tags.split(',').filter(Boolean) })),
    pvs: (await report(host, 'pvs', 'pv_name,vg_name')).map(([name = '', vg = '']) => ({ name, vg })),
    lvs: (await report(host, 'lvs', 'vg_name,lv_name,lv_attr')).map(([vg = '', name = '', attr = '']) => ({ vg, name, attr })),
  };
}

/** The physical volume LVM lists for a device, comparing resolved paths (LVM may name it otherwise). */
async function pvOf(host: Host, state: LvmState, device: string): Promise<LvmState['pvs'][number] | undefined> {
  const real = (await host.realpath(device)) ?? device;
  for (const pv of state.pvs) if (pv.name === device || ((await host.realpath(pv.name)) ?? pv.name) === real) return pv;
  return undefined;
}

/**
 * Refuses to write to a device that may not be the one planned, or that something uses now:
 * its identity (stable ids, size) must be the recorded one, no holder, partition, mount or swap,
 * and an exclusive open must succeed. Called right before each command that writes to it.
 */
export async function checkDeviceBeforeWrite(host: Host, device: string, recorded: DeviceIdentity | undefined): Promise<DeviceIdentity> {
  const now = await probeDeviceIdentity(host, device);
  const notWritten = 'Nothing was written to it. Name the disk by a stable name (ls -l /dev/disk/by-id) in directLvm.device; roll back (`devmapper-migrate rollback`) if the run did not already.';
  const mismatch = recorded ? identityMismatch(recorded, now) : now ? undefined : `${device} is not a block device`;
  if (mismatch || !now) throw new OperatorError(`Refusing to write to ${device}: it may not be the disk this run was planned for (${mismatch}).`, notWritten);
  const users = await deviceUsers(host, now);
  if (users.length) throw new OperatorError(`Refusing to write to ${device}: it is in use now: ${users.join('; ')}.`, notWritten);
  try {
    await host.claimExclusive(device);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new OperatorError(`Refusing to write to ${device}: it cannot be opened exclusively (${code}), so something holds it.`, notWritten);
  }
  return now;
}

function journalledObject(ctx: MigrationContext, object: PoolObject): JournalEntry | undefined {
  return ctx.store.state.journal.find((e) => e.kind === KIND[object.kind] && e.data.name === object.name && !e.undoneAt);
}

/**
 * Whether an object is there already: 'absent', or 'ours' (this run made it and may not have
 * journalled it: a crash right after). An object of that name that the run did not make stops
 * the run: it is not the run's to change or remove.
 */
async function objectState(ctx: MigrationContext, command: PoolCommand, object: PoolObject, state: LvmState, pool: RunPool, device: string): Promise<'absent' | 'ours'> {
  const vg = state.vgs.find((v) => v.name === pool.vg);
  const foreign = (what: string) =>
    new OperatorError(`${what} exists already and was not created by this run (no LVM tag ${pool.tag}): the run does not build on or remove what is not its own.`, 'Nothing was changed on it. Roll back (`devmapper-migrate rollback`) if the run did not already; the new pool is named after the run, so this should not happen: look at `vgs -o+vg_tags` and `lvs`.');
  switch (object.kind) {
    case 'pv': {
      const pv = await pvOf(ctx.host, state, device);
      if (!pv) return 'absent';
      if (pv.vg === '' || pv.vg === pool.vg) return 'ours';
      throw foreign(`${device} is a physical volume of volume group ${pv.vg}; it`);
    }
    case 'vg':
      if (!vg) return 'absent';
      if (vg.tags.includes(pool.tag)) return 'ours';
      throw foreign(`The volume group ${pool.vg}`);
    case 'lv':
    case 'thin-pool': {
      const lvs = state.lvs.filter((lv) => lv.vg === pool.vg);
      if (lvs.length && !vg?.tags.includes(pool.tag)) throw foreign(`The volume group ${pool.vg}`);
      const converted = lvs.some((lv) => lv.name === pool.pool && lv.attr.startsWith('t'));
      if (object.kind === 'thin-pool') return converted ? 'ours' : 'absent';
      // The two volumes become the pool: once it exists they are done.
      return converted || lvs.some((lv) => lv.name === object.name) ? 'ours' : 'absent';
    }
    case 'profile': {
      const text = await ctx.host.readFile(object.name);
      if (text === undefined) return 'absent';
      // The profile's text is what the command writes (its input).
      if (text === command.input) return 'ours';
      throw foreign(`The LVM profile ${object.name}`);
    }
  }
}

function journalData(object: PoolObject, pool: RunPool, device: string, identity: DeviceIdentity | undefined): Record<string, unknown> {
  const base = { name: object.name, device, vg: pool.vg, tag: pool.tag };
  if (object.kind === 'pv') return { ...base, ...(identity && { identity }) };
  if (object.kind === 'profile') return { name: object.name, path: object.name };
  return base;
}

/** Commands that write to the device by its name: its identity and freedom are checked right before. */
function writesDevice(command: PoolCommand): boolean {
  return command.argv[0] === 'wipefs' || command.creates?.kind === 'pv' || command.creates?.kind === 'vg';
}

export const buildThinPoolStep: Step<MigrationContext> = {
  id: STEP_ID,
  title: 'Build the direct-lvm thin pool',
  phase: 'cutover',
  async run(ctx, progress) {
    const { device, commands, ...pool } = paramsOf(ctx, STEP_ID);
    const recorded = ctx.store.state.notes.targetDevice as DeviceIdentity | undefined;
    // Read once: what exists before this attempt (a resume finds its own objects, tagged); the
    // names are the run's own, so nothing else makes them meanwhile.
    const state = await readLvmState(ctx.host);
    // Every object first: one of the run's names that the run did not make stops it before any write.
    const found = new Map<PoolCommand, 'absent' | 'ours'>();
    for (const command of commands) if (command.creates) found.set(command, await objectState(ctx, command, command.creates, state, pool, device));
    for (const command of commands) {
      if (command.creates && !journalledObject(ctx, command.creates) && found.get(command) === 'ours') {
        await ctx.store.journal(STEP_ID, KIND[command.creates.kind], journalData(command.creates, pool, device, recorded));
      }
      if (command.creates && journalledObject(ctx, command.creates)) continue;
      // The wipe is for a device that is not yet the run's physical volume.
      if (command.argv[0] === 'wipefs' && (await pvOf(ctx.host, state, device))) continue;
      if (writesDevice(command)) await checkDeviceBeforeWrite(ctx.host, device, recorded);
      progress.say(`${command.why}: ${command.argv.join(' ')}`);
      const [program, ...args] = command.argv as [string, ...string[]];
      const result = await ctx.host.run(program, args, { input: command.input, timeoutMs: 300_000 });
      if (result.exitCode !== 0) {
        throw new OperatorError(`${command.argv.join(' ')} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`, 'Look at the device and the LVM state (pvs, vgs, lvs); roll back, or fix it and resume.');
      }
      if (command.creates) await ctx.store.journal(STEP_ID, KIND[command.creates.kind], journalData(command.creates, pool, device, recorded));
    }
    progress.say(`The pool is ${poolNames(pool).mapperDevice} (LVM tag ${pool.tag})`);
  },
};

interface CreatedData {
  name: string;
  vg: string;
  tag: string;
  device: string;
  identity?: DeviceIdentity;
}

/** The volume group the run made, when it is still there and still carries the run's tag; throws when it lost it. */
async function ownVg(host: Host, data: CreatedData): Promise<LvmState | undefined> {
  const state = await readLvmState(host);
  const vg = state.vgs.find((v) => v.name === data.vg);
  if (!vg) return undefined;
  if (!vg.tags.includes(data.tag)) {
    throw new OperatorError(`The volume group ${data.vg} does not carry the run's LVM tag ${data.tag}: it was not removed.`, `Look at it (vgs -o+vg_tags ${data.vg}); remove it by hand only if it holds nothing you need.`);
  }
  return state;
}

async function lvm(host: Host, program: string, args: string[], byHand: string): Promise<void> {
  const result = await host.run(program, args, LVM_RUN);
  if (result.exitCode !== 0) throw new OperatorError(`${program} ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`, byHand);
}

/** Undo of the objects a run created, newest first; each checks the tag and the device before it removes anything. */
export function thinPoolUndoHandlers(stopDaemon: (ctx: MigrationContext) => Promise<void>): Record<string, UndoHandler<MigrationContext>> {
  const removeLv = async (ctx: MigrationContext, raw: Record<string, unknown>) => {
    const data = raw as unknown as CreatedData;
    await stopDaemon(ctx);
    const state = await ownVg(ctx.host, data);
    if (!state?.lvs.some((lv) => lv.vg === data.vg && lv.name === data.name)) return;
    await lvm(ctx.host, 'lvremove', ['-y', `${data.vg}/${data.name}`], `Remove it by hand: lvremove ${data.vg}/${data.name}.`);
  };
  return {
    'created-lvm-profile': async (ctx, data) => {
      const file = data.path as string;
      if (await ctx.host.stat(file)) await ctx.host.unlink(file);
    },
    'created-thin-pool': removeLv,
    'created-lv': removeLv,
    'created-vg': async (ctx, raw) => {
      const data = raw as unknown as CreatedData;
      await stopDaemon(ctx);
      const state = await ownVg(ctx.host, data);
      if (!state) return;
      const byHand = `Look at it (vgs, pvs, lvs ${data.vg}) and remove it by hand if it holds nothing you need.`;
      const pvs = state.pvs.filter((pv) => pv.vg === data.vg);
      const real = (await ctx.host.realpath(data.device)) ?? data.device;
      const onDevice = await Promise.all(pvs.map(async (pv) => ((await ctx.host.realpath(pv.name)) ?? pv.name) === real));
      if (pvs.length !== 1 || !onDevice[0]) {
        throw new OperatorError(`The volume group ${data.vg} is on ${pvs.map((pv) => pv.name).join(', ') || 'no device'}, not only on ${data.device}: it was not removed.`, byHand);
      }
      const lvs = state.lvs.filter((lv) => lv.vg === data.vg);
      if (lvs.length) throw new OperatorError(`The volume group ${data.vg} still holds ${lvs.map((lv) => lv.name).join(', ')}, which the run did not record: it was not removed.`, byHand);
      await lvm(ctx.host, 'vgremove', ['-y', data.vg], `Remove it by hand: vgremove ${data.vg}.`);
    },
    'created-pv': async (ctx, raw) => {
      const data = raw as unknown as CreatedData;
      const state = await readLvmState(ctx.host);
      const pv = await pvOf(ctx.host, state, data.device);
      if (!pv) return;
      const byHand = `Look at it (pvs ${data.device}, lsblk) and run pvremove ${data.device} by hand if it is the run's disk.`;
      if (pv.vg !== '') throw new OperatorError(`${data.device} is a physical volume of ${pv.vg} now: it was not removed.`, byHand);
      const mismatch = data.identity ? identityMismatch(data.identity, await probeDeviceIdentity(ctx.host, data.device)) : undefined;
      if (mismatch) throw new OperatorError(`${data.device} may not be the disk the run made a physical volume (${mismatch}): it was not removed.`, byHand);
      await lvm(ctx.host, 'pvremove', ['-y', data.device], byHand);
    },
    // State files written before the pool had a name and tag of its own: remove it only when
    // the volume group is on exactly the run's device (the host's own pool is on another one).
    'built-thin-pool': async (ctx, raw) => {
      const { vg, pool, device } = raw as { vg: string; pool: string; device: string };
      await stopDaemon(ctx);
      const state = await readLvmState(ctx.host);
      if (!state.vgs.some((v) => v.name === vg)) return;
      const real = (await ctx.host.realpath(device)) ?? device;
      const pvs = state.pvs.filter((pv) => pv.vg === vg);
      const own = pvs.length === 1 && ((await ctx.host.realpath(pvs[0]!.name)) ?? pvs[0]!.name) === real;
      if (!own) throw new OperatorError(`The volume group ${vg} is not only on ${device}: it may be the host's own pool, and was not removed.`, `Look at it (vgs, pvs, lvs ${vg}); remove the run's pool by hand only if it is on ${device}.`);
      if (state.lvs.some((lv) => lv.vg === vg && lv.name === pool)) await lvm(ctx.host, 'lvremove', ['-y', `${vg}/${pool}`], `Remove it by hand: lvremove ${vg}/${pool}.`);
      await lvm(ctx.host, 'vgremove', ['-y', vg], `Remove it by hand: vgremove ${vg}.`);
      await lvm(ctx.host, 'pvremove', ['-y', device], `Remove it by hand: pvremove ${device}.`);
    },
  };
}
