/**
 * The block devices a new direct-lvm pool could go on, for the wizard's pick list: every disk
 * and partition with its size, filesystem and mounts, and why it cannot be used when it
 * cannot (the preflight checks in preflight/checks/direct-lvm.ts have the final word on the
 * device picked; this list only keeps an operator from picking a busy one by mistake).
 */
import type { Host } from '../host/host.js';
import { LvmReporter } from './lvm-report.js';
import { PVS_FIELDS, pvsFromRows } from './parse.js';
import type { LvmPv } from './types.js';

/** One device offered for the new pool; `disabledReason` says why it cannot be picked. */
export interface BlockDeviceChoice {
  path: string;
  /** lsblk's TYPE: disk, part, loop, mpath, raid1, ... */
  type?: string;
  sizeBytes?: number;
  fsType?: string;
  /** Where it or anything on it (a partition, a logical volume) is mounted; "[SWAP]" for swap. */
  mountPoints: string[];
  disabledReason?: string;
}

/** One node of lsblk's device tree, as listed (a device held by two parents appears twice). */
export interface LsblkDevice {
  path: string;
  type: string;
  sizeBytes?: number;
  fsType?: string;
  mountPoint?: string;
  readOnly: boolean;
  children: LsblkDevice[];
}

/** What is known of the current devicemapper pool (docker info's "Pool Name", its volume group). */
export interface PoolHint {
  /** Device-mapper name of the pool, e.g. "docker-thinpool" or "docker-253:0-1234-pool". */
  poolName?: string;
  /** The volume group of a direct-lvm pool. */
  volumeGroup?: string;
}

/** Types that can hold a pool: whole disks, partitions, loop devices, multipath and md devices. */
const OFFERED = /^(disk|part|loop|mpath|raid\d*|md|dmraid)$/;
/** Types that are never held by another device (for lsblk -P without PKNAME). */
const WHOLE = /^(disk|loop|rom)$/;
/** Docker's own name for a loop-lvm pool: docker-MAJ:MIN-INODE-pool. */
const LOOP_LVM_POOL = /^docker-\d+:\d+-\d+-pool$/;

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

function bytes(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** lsblk prints RO as a JSON boolean since util-linux 2.33 and as "0"/"1" before. */
function flag(value: unknown): boolean {
  return value === true || value === '1' || value === 1;
}

function fromJson(row: Record<string, unknown>): LsblkDevice {
  const children = Array.isArray(row.children) ? (row.children as Record<string, unknown>[]).map(fromJson) : [];
  return {
    // PATH (util-linux >= 2.33), else NAME printed with -p.
    path: text(row.path) ?? text(row.name) ?? '',
    type: text(row.type) ?? '',
    sizeBytes: bytes(row.size),
    fsType: text(row.fstype),
    mountPoint: text(row.mountpoint),
    readOnly: flag(row.ro),
    children,
  };
}

/** The device trees of `lsblk --json -b -o NAME,PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO` (or -p without PATH). */
export function parseLsblkTree(json: string): LsblkDevice[] {
  const parsed = JSON.parse(json) as { blockdevices?: unknown };
  if (!Array.isArray(parsed.blockdevices)) throw new Error('lsblk printed JSON without "blockdevices"');
  return (parsed.blockdevices as Record<string, unknown>[]).map(fromJson);
}

/**
 * The device trees of `lsblk -P -b -p -o NAME,KNAME,PKNAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO`
 * (util-linux before 2.27 has no --json). Rows come depth first; PKNAME names the parent a
 * row is printed under. Without KNAME/PKNAME, a partition or holder belongs to the last
 * whole device before it, which is right for partitions and close enough for the rest.
 */
export function parseLsblkPairsTree(output: string): LsblkDevice[] {
  const roots: LsblkDevice[] = [];
  // The most recent row by kernel name: children follow their parent, and names repeat.
  const byKname = new Map<string, LsblkDevice>();
  let lastRoot: LsblkDevice | undefined;
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const fields: Record<string, string> = {};
    for (const m of line.matchAll(/([A-Z:_-]+)="((?:[^"\\]|\\.)*)"/g)) fields[m[1]!] = unescapeLsblk(m[2]!);
    const type = fields.TYPE ?? '';
    const device: LsblkDevice = {
      path: devicePath(fields.NAME ?? '', type),
      type,
      sizeBytes: bytes(fields.SIZE),
      fsType: text(fields.FSTYPE),
      mountPoint: text(fields.MOUNTPOINT),
      readOnly: flag(fields.RO),
      children: [],
    };
    const hasParentColumn = 'PKNAME' in fields;
    const parent = hasParentColumn
      ? fields.PKNAME
        ? byKname.get(fields.PKNAME)
        : undefined
      : WHOLE.test(device.type)
        ? undefined
        : lastRoot;
    if (parent) parent.children.push(device);
    else {
      roots.push(device);
      lastRoot = device;
    }
    byKname.set(fields.KNAME ?? device.path, device);
  }
  return roots;
}

/** A path for NAME as lsblk prints it without -p: "sdb1", or a device-mapper name. */
function devicePath(name: string, type: string): string {
  if (name === '' || name.startsWith('/')) return name;
  return /^(lvm|dm|crypt|mpath)$/.test(type) ? `/dev/mapper/${name}` : `/dev/${name}`;
}

/** lsblk -P escapes unsafe bytes as \xHH. */
function unescapeLsblk(value: string): string {
  return value.replace(/\\x([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * `blkid -o export` (all devices): the signature type of each device, by DEVNAME. lsblk gets
 * FSTYPE from udev's database, which hosts without udev (containers, rescue systems) lack.
 */
export function parseBlkidAll(output: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const block of output.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    const name = fields.get('DEVNAME');
    const type = fields.get('TYPE') ?? fields.get('PTTYPE');
    if (name && type) types.set(name, type);
  }
  return types;
}

function descendants(device: LsblkDevice): LsblkDevice[] {
  return device.children.flatMap((child) => [child, ...descendants(child)]);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function mountText(device: LsblkDevice, owner: LsblkDevice): string {
  const where = device.mountPoint === '[SWAP]' ? 'swap' : device.mountPoint!;
  return device === owner ? where : `${where} (${device.path})`;
}

function signatureText(fsType: string): string {
  if (fsType === 'swap') return 'holds a swap signature';
  if (fsType === 'LVM2_member') return 'holds an LVM signature';
  if (/^(dos|gpt|sun|sgi|bsd|mac|atari)$/.test(fsType)) return `holds a ${fsType} partition table`;
  const article = /^[aeiouxAEIOUX]/.test(fsType) ? 'an' : 'a';
  return `holds ${article} ${fsType} filesystem or signature`;
}

/** Why a device cannot hold the new pool, most serious reason first; undefined when it can. */
function disabledReason(device: LsblkDevice, pvs: ReadonlyMap<string, LvmPv>, pool: PoolHint): string | undefined {
  const below = descendants(device);
  const pv = pvs.get(device.path);
  const inPool =
    below.some((d) => baseName(d.path) === pool.poolName || LOOP_LVM_POOL.test(baseName(d.path))) ||
    (pool.volumeGroup !== undefined && pv?.vgName === pool.volumeGroup);
  if (inPool) return `holds the current devicemapper pool${pool.poolName ? ` ${pool.poolName}` : ''}: it is the rollback until finalize`;
  const mounted = [device, ...below].filter((d) => d.mountPoint);
  if (mounted.length > 0) {
    const list = [...new Set(mounted.map((d) => mountText(d, device)))].join(', ');
    return device.mountPoint ? `mounted at ${list}` : `in use: ${list}`;
  }
  if (pv) return pv.vgName ? `an LVM physical volume of volume group ${pv.vgName}` : 'an LVM physical volume (in no volume group)';
  const partitions = device.children.filter((c) => c.type === 'part');
  if (partitions.length > 0) return `has partitions (${partitions.map((p) => p.path).join(', ')}): pick a free one`;
  if (device.children.length > 0) return `in use by ${[...new Set(device.children.map((c) => `${c.path} (${c.type})`))].join(', ')}`;
  if (device.fsType) return signatureText(device.fsType);
  if (device.readOnly) return 'read-only';
  return undefined;
}

/**
 * The devices offered for a new pool (pure): disks, partitions, loop, multipath and md devices
 * of lsblk's trees, each once, with why it cannot be used. `signatures` (blkid's, by path)
 * fill in filesystems lsblk could not name.
 */
export function blockDeviceChoices(
  trees: readonly LsblkDevice[],
  pvs: readonly LvmPv[] = [],
  pool: PoolHint = {},
  signatures: ReadonlyMap<string, string> = new Map(),
): BlockDeviceChoice[] {
  const pvByPath = new Map(pvs.map((pv) => [pv.pvName, pv]));
  const withSignatures = (device: LsblkDevice): LsblkDevice => ({
    ...device,
    fsType: device.fsType ?? signatures.get(device.path),
    children: device.children.map(withSignatures),
  });
  const seen = new Set<string>();
  const choices: BlockDeviceChoice[] = [];
  const visit = (device: LsblkDevice, depth: number) => {
    // Whole devices at the top, and partitions on them; a pool never goes on an LV or a dm map.
    const offered = OFFERED.test(device.type) && (depth === 0 || device.type === 'part') && (device.sizeBytes ?? 1) > 0;
    if (offered && device.path && !seen.has(device.path)) {
      seen.add(device.path);
      const reason = disabledReason(device, pvByPath, pool);
      choices.push({
        path: device.path,
        type: device.type,
        ...(device.sizeBytes !== undefined && { sizeBytes: device.sizeBytes }),
        ...(device.fsType && { fsType: device.fsType }),
        mountPoints: [device, ...descendants(device)].flatMap((d) => (d.mountPoint ? [d.mountPoint] : [])),
        ...(reason && { disabledReason: reason }),
      });
    }
    if (depth === 0) for (const child of device.children) visit(child, depth + 1);
  };
  for (const tree of trees) visit(withSignatures(tree), 0);
  return choices;
}

const RUN = { timeoutMs: 30_000 };
const COLUMNS = 'TYPE,SIZE,FSTYPE,MOUNTPOINT,RO';

/** The device trees from lsblk, trying the forms of older util-linux in turn; [] without lsblk. */
async function readLsblk(host: Host): Promise<LsblkDevice[]> {
  const attempts: { args: string[]; parse: (out: string) => LsblkDevice[] }[] = [
    { args: ['--json', '-b', '-o', `NAME,PATH,${COLUMNS}`], parse: parseLsblkTree },
    // PATH came in util-linux 2.33 (RHEL 7 and 8 have older ones): -p prints NAME as a path.
    { args: ['--json', '-b', '-p', '-o', `NAME,${COLUMNS}`], parse: parseLsblkTree },
    // --json came in 2.27.
    { args: ['-P', '-b', '-p', '-o', `NAME,KNAME,PKNAME,${COLUMNS}`], parse: parseLsblkPairsTree },
    { args: ['-P', '-b', '-p', '-o', `NAME,${COLUMNS}`], parse: parseLsblkPairsTree },
    // -p came in 2.23 too; kernel names are made into paths.
    { args: ['-P', '-b', '-o', `NAME,KNAME,PKNAME,${COLUMNS}`], parse: parseLsblkPairsTree },
  ];
  for (const attempt of attempts) {
    const result = await host.run('lsblk', attempt.args, RUN);
    if (result.exitCode !== 0) continue;
    try {
      return attempt.parse(result.stdout);
    } catch {
      continue;
    }
  }
  return [];
}

async function readPvs(host: Host): Promise<LvmPv[]> {
  if (!(await host.which('pvs'))) return [];
  const result = await new LvmReporter(host, RUN).report('pvs', 'pv', PVS_FIELDS);
  return result.ok ? pvsFromRows(result.rows) : [];
}

async function readSignatures(host: Host): Promise<Map<string, string>> {
  if (!(await host.which('blkid'))) return new Map();
  const result = await host.run('blkid', ['-o', 'export'], RUN);
  // blkid exits 2 when it finds no signature anywhere.
  return result.exitCode === 0 ? parseBlkidAll(result.stdout) : new Map();
}

/**
 * The block devices of the host as pick-list choices (lsblk, pvs and blkid through the Host).
 * Read-only; a missing or failing tool leaves its part out rather than failing: the list is a
 * convenience, and preflight checks the device chosen.
 */
export async function listBlockDevices(host: Host, pool: PoolHint = {}): Promise<BlockDeviceChoice[]> {
  const trees = await readLsblk(host);
  if (trees.length === 0) return [];
  const pvs = await readPvs(host);
  // No FSTYPE anywhere means no udev database (containers, rescue systems): ask blkid, which
  // probes every device, only then (on a dead multipath path a probe can hang until the timeout).
  const anyFsType = trees.some((tree) => [tree, ...descendants(tree)].some((d) => d.fsType));
  const signatures = anyFsType ? new Map<string, string>() : await readSignatures(host);
  return blockDeviceChoices(trees, pvs, pool, signatures);
}
