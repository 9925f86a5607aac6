/**
 * Which disk a device name means, and whether anything uses it: read from sysfs, /dev/disk/by-id,
 * /proc/mounts and /proc/swaps through the Host. A name like /dev/sdb is given once, at plan
 * time, and may mean another disk after a reboot or a hot-plug; the run wipes it only when its
 * identity (stable ids and size) is the one recorded then, and nothing holds it right now.
 */
import path from 'node:path';
import type { Host } from '../host/host.js';

/** What identifies a block device: ids that survive a reboot, its size, and (for one boot) its numbers. */
export interface DeviceIdentity {
  /** The name the answers give, e.g. /dev/sdb. */
  path: string;
  /** The kernel's name, e.g. sdb, sdb1, dm-3, vdb. */
  kname: string;
  sizeBytes?: number;
  /** Stable ids: by-id:<link>, wwid:<...>, serial:<...>, dm-uuid:<...>, md-uuid:<...>, loop:<backing file>. */
  ids: string[];
  /** major:minor: meaningful only within one boot. */
  devno?: string;
  /** /proc/sys/kernel/random/boot_id when it was read. */
  bootId?: string;
}

const SYS = '/sys/class/block';

async function readTrimmed(host: Host, file: string): Promise<string | undefined> {
  const text = (await host.readFile(file).catch(() => undefined))?.trim();
  return text ? text : undefined;
}

/** The identity of a device as it is now; undefined when the name resolves to no block device. */
export async function probeDeviceIdentity(host: Host, device: string): Promise<DeviceIdentity | undefined> {
  const resolved = await host.realpath(device);
  if (!resolved) return undefined;
  const kname = path.posix.basename(resolved);
  const sys = `${SYS}/${kname}`;
  const devno = await readTrimmed(host, `${sys}/dev`);
  if (!devno) return undefined;
  const sectors = Number(await readTrimmed(host, `${sys}/size`));
  const ids = new Set<string>();
  const add = async (prefix: string, file: string) => {
    const value = await readTrimmed(host, file);
    if (value) ids.add(`${prefix}:${value.replace(/\s+/g, ' ')}`);
  };
  await add('wwid', `${sys}/wwid`);
  await add('wwid', `${sys}/device/wwid`);
  await add('serial', `${sys}/serial`);
  await add('serial', `${sys}/device/serial`);
  await add('dm-uuid', `${sys}/dm/uuid`);
  await add('md-uuid', `${sys}/md/uuid`);
  await add('loop', `${sys}/loop/backing_file`);
  const partition = await readTrimmed(host, `${sys}/partition`);
  if (partition) {
    // A partition is identified by its number on a disk identified as above.
    const parent = await partitionParent(host, kname);
    const parentIds = parent ? (await probeDeviceIdentity(host, `/dev/${parent}`))?.ids ?? [] : [];
    for (const id of parentIds) if (!id.startsWith('by-id:')) ids.add(`part${partition}-of-${id}`);
  }
  for (const link of (await host.listDir('/dev/disk/by-id')) ?? []) {
    if ((await host.realpath(`/dev/disk/by-id/${link}`)) === resolved) ids.add(`by-id:${link}`);
  }
  return {
    path: device,
    kname,
    ...(Number.isFinite(sectors) && sectors > 0 && { sizeBytes: sectors * 512 }),
    ids: [...ids].sort(),
    devno,
    bootId: await readTrimmed(host, '/proc/sys/kernel/random/boot_id'),
  };
}

/** The disk a partition is on (its sysfs directory's parent). */
async function partitionParent(host: Host, kname: string): Promise<string | undefined> {
  const real = await host.realpath(`${SYS}/${kname}`);
  if (!real) return undefined;
  const parent = path.posix.basename(path.posix.dirname(real));
  return parent && parent !== 'block' ? parent : undefined;
}

/**
 * Why `now` is not the device `recorded` names, or undefined when it is: the size must match,
 * and a stable id must match when one was recorded; without stable ids only the same boot and
 * device numbers confirm it.
 */
export function identityMismatch(recorded: DeviceIdentity, now: DeviceIdentity | undefined): string | undefined {
  if (!now) return `${recorded.path} is no longer a block device`;
  if (recorded.sizeBytes !== undefined && now.sizeBytes !== recorded.sizeBytes) {
    return `${recorded.path} is ${now.sizeBytes ?? 'of unknown size'} bytes now, ${recorded.sizeBytes} bytes when the run was planned`;
  }
  if (recorded.ids.length > 0) {
    if (now.ids.some((id) => recorded.ids.includes(id))) return undefined;
    return `${recorded.path} was ${recorded.ids.join(', ')} when the run was planned, and is ${now.ids.length ? now.ids.join(', ') : 'a device without such ids'} now`;
  }
  if (recorded.bootId !== undefined && recorded.bootId === now.bootId && recorded.devno === now.devno) return undefined;
  return `${recorded.path} has no stable id (no WWN, serial or /dev/disk/by-id link), and the machine rebooted or its device numbers changed since the run was planned, so it cannot be told to be the same disk`;
}

/** The holders (/sys/class/block/X/holders) of a device and of its partitions, and its partitions' names. */
export async function deviceHolders(host: Host, kname: string): Promise<{ holders: { device: string; holders: string[] }[]; partitions: string[] }> {
  const sys = `${SYS}/${kname}`;
  const partitions: string[] = [];
  for (const name of (await host.listDir(sys)) ?? []) {
    if (name.startsWith(kname) && (await host.stat(`${sys}/${name}/partition`))) partitions.push(name);
  }
  const holders: { device: string; holders: string[] }[] = [];
  for (const [name, dir] of [[kname, sys], ...partitions.map((p) => [p, `${sys}/${p}`])] as [string, string][]) {
    const held = (await host.listDir(`${dir}/holders`)) ?? [];
    if (held.length) holders.push({ device: `/dev/${name}`, holders: held.map((h) => `/dev/${h}`) });
  }
  return { holders, partitions };
}

/**
 * What uses the device now, as sentences (empty when nothing does): device-mapper, md or
 * multipath holders of it or of its partitions, partitions, mounts and swap.
 */
export async function deviceUsers(host: Host, identity: Pick<DeviceIdentity, 'kname'>): Promise<string[]> {
  const { holders, partitions } = await deviceHolders(host, identity.kname);
  const users = holders.map((h) => `${h.device === `/dev/${identity.kname}` ? 'held' : `its partition ${h.device} is held`} by ${h.holders.join(', ')} (device-mapper, md, multipath or dm-crypt)`);
  const names = new Set([`/dev/${identity.kname}`, ...partitions.map((p) => `/dev/${p}`)]);
  const mounts = (await host.readFile('/proc/mounts')) ?? '';
  for (const line of mounts.split('\n')) {
    const [source, target] = line.split(' ');
    if (source?.startsWith('/dev/') && target && (names.has(source) || names.has((await host.realpath(source)) ?? ''))) {
      users.push(`${source} is mounted at ${target.replace(/\\040/g, ' ')}`);
    }
  }
  for (const line of ((await host.readFile('/proc/swaps')) ?? '').split('\n').slice(1)) {
    const source = line.trim().split(/\s+/)[0];
    if (source && names.has(source)) users.push(`${source} is used as swap`);
  }
  return users;
}
