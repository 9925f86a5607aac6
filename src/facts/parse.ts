/**
 * Parsers for what the facts probes read: the mount table, LVM's JSON reports, lsblk, blkid,
 * Docker host addresses. Pure, so that they are tested on canned output.
 */
import type { BlockDeviceNode, LvmLv, LvmPv, LvmVg, MountFact } from './types.js';

/** LVM tools a direct-lvm pool needs. */
export const LVM_TOOLS = ['lvs', 'vgs', 'pvs', 'pvcreate', 'vgcreate', 'lvcreate', 'lvconvert', 'lvchange'];

/** Entries of /proc/mounts (or /proc/self/mounts), with octal escapes such as \040 decoded. */
export function parseMounts(text: string): MountFact[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const mounts: MountFact[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    mounts.push({
      device: unescape(fields[0]!),
      mountPoint: unescape(fields[1]!),
      fsType: fields[2]!,
      options: fields[3]!.split(','),
    });
  }
  return mounts;
}

/** The mount a path lives on: the longest mount point above it; the last one mounted wins a tie. */
export function mountOf(mounts: readonly MountFact[], path: string): MountFact | undefined {
  let best: MountFact | undefined;
  for (const m of mounts) {
    if (!isUnder(path, m.mountPoint)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** Whether `path` is `dir` or inside it. */
export function isUnder(path: string, dir: string): boolean {
  if (dir === '/') return path.startsWith('/');
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value.replace(/[Bb]$/, ''));
  return Number.isFinite(n) ? n : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** One row of an LVM report: field name → value as LVM printed it. */
export type LvmRow = Record<string, unknown>;

/** The rows of one kind ("lv", "vg", "pv") from `lvs/vgs/pvs --reportformat json`. */
export function lvmJsonRows(json: string, kind: string): LvmRow[] {
  const parsed = JSON.parse(json) as { report?: LvmRow[] };
  const rows: LvmRow[] = [];
  for (const report of parsed.report ?? []) {
    const list = report[kind];
    if (Array.isArray(list)) rows.push(...(list as LvmRow[]));
  }
  return rows;
}

/** The separator of the column form: no LVM name can hold it (names are [a-zA-Z0-9+_.-]). */
export const LVM_SEPARATOR = '|';

/**
 * The rows of `lvs/vgs/pvs --noheadings --separator '|' -o FIELDS` (every lvm2, also before
 * 2.02.158, which has no JSON): one object a line, values in the order of `fields`, each
 * trimmed (LVM indents every line by two spaces). A line with another number of values is
 * not LVM's report: it throws, as a JSON parse would.
 */
export function lvmColumnRows(text: string, fields: readonly string[]): LvmRow[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const values = line.split(LVM_SEPARATOR).map((v) => v.trim());
      if (values.length !== fields.length) {
        throw new Error(`expected ${fields.length} fields separated by "${LVM_SEPARATOR}", found ${values.length}: ${line.trim()}`);
      }
      return Object.fromEntries(fields.map((field, i) => [field, values[i]!]));
    });
}

/** The fields the facts read from each LVM report, in the order `-o` asks for them. */
export const LVS_FIELDS = ['lv_name', 'vg_name', 'lv_attr', 'lv_size', 'pool_lv', 'data_percent', 'metadata_percent'] as const;
export const VGS_FIELDS = ['vg_name', 'vg_size', 'vg_free'] as const;
export const PVS_FIELDS = ['pv_name', 'vg_name', 'pv_size'] as const;

/** Logical volumes from report rows (`lvs -a --units b --nosuffix -o LVS_FIELDS`). */
export function lvsFromRows(rows: readonly LvmRow[]): LvmLv[] {
  return rows.map((r) => ({
    lvName: str(r.lv_name),
    vgName: str(r.vg_name),
    attr: str(r.lv_attr),
    sizeBytes: num(r.lv_size),
    poolLv: str(r.pool_lv) || undefined,
    dataPercent: num(r.data_percent),
    metadataPercent: num(r.metadata_percent),
  }));
}

/** Volume groups from report rows (`vgs --units b --nosuffix -o VGS_FIELDS`). */
export function vgsFromRows(rows: readonly LvmRow[]): LvmVg[] {
  return rows.map((r) => ({ vgName: str(r.vg_name), sizeBytes: num(r.vg_size), freeBytes: num(r.vg_free) }));
}

/** Physical volumes from report rows (`pvs --units b --nosuffix -o PVS_FIELDS`). */
export function pvsFromRows(rows: readonly LvmRow[]): LvmPv[] {
  return rows.map((r) => ({ pvName: str(r.pv_name), vgName: str(r.vg_name), sizeBytes: num(r.pv_size) }));
}

/** `lvs --reportformat json --units b --nosuffix -a -o LVS_FIELDS`. */
export function parseLvs(json: string): LvmLv[] {
  return lvsFromRows(lvmJsonRows(json, 'lv'));
}

/** `vgs --reportformat json --units b --nosuffix -o VGS_FIELDS`. */
export function parseVgs(json: string): LvmVg[] {
  return vgsFromRows(lvmJsonRows(json, 'vg'));
}

/** `pvs --reportformat json --units b --nosuffix -o PVS_FIELDS`. */
export function parsePvs(json: string): LvmPv[] {
  return pvsFromRows(lvmJsonRows(json, 'pv'));
}

/** The first device of `lsblk --json -b -p -o NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT DEVICE`. */
export function parseLsblkJson(json: string): BlockDeviceNode | undefined {
  const parsed = JSON.parse(json) as { blockdevices?: Record<string, unknown>[] };
  const first = parsed.blockdevices?.[0];
  return first ? lsblkNode(first) : undefined;
}

function lsblkNode(r: Record<string, unknown>): BlockDeviceNode {
  const children = Array.isArray(r.children) ? (r.children as Record<string, unknown>[]).map(lsblkNode) : [];
  // util-linux >= 2.37 prints MOUNTPOINTS (a list) when asked; MOUNTPOINT stays a single value.
  return {
    name: str(r.name),
    type: str(r.type),
    sizeBytes: num(r.size),
    fsType: str(r.fstype) || undefined,
    mountPoint: str(r.mountpoint) || undefined,
    children,
  };
}

/**
 * `lsblk -P -b -p -o NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT DEVICE` (util-linux before 2.27 has no
 * --json): KEY="value" pairs, one device a line, children after their parent without nesting.
 */
export function parseLsblkPairs(text: string): BlockDeviceNode | undefined {
  const nodes = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const fields: Record<string, string> = {};
      for (const m of line.matchAll(/([A-Z:_-]+)="([^"]*)"/g)) fields[m[1]!] = m[2]!;
      return lsblkNode({
        name: fields.NAME,
        type: fields.TYPE,
        size: fields.SIZE,
        fstype: fields.FSTYPE,
        mountpoint: fields.MOUNTPOINT,
      });
    });
  const [first, ...rest] = nodes;
  if (first) first.children = rest;
  return first;
}

/** Every node of a block device tree, the device first. */
export function flattenBlockDevice(node: BlockDeviceNode): BlockDeviceNode[] {
  return [node, ...node.children.flatMap(flattenBlockDevice)];
}

/** `blkid -p -o export DEVICE`: TYPE/PTTYPE (and USAGE) lines of the signature it found. */
export function parseBlkidExport(text: string): { type: string; usage?: string }[] {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const found: { type: string; usage?: string }[] = [];
  if (fields.TYPE) found.push({ type: fields.TYPE, usage: fields.USAGE });
  if (fields.PTTYPE) found.push({ type: fields.PTTYPE, usage: 'partition table' });
  return found;
}

export type DockerAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'fd' }
  | { kind: 'other'; scheme: string; raw: string };

/** The default socket of dockerd and the Docker client. */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** A Docker host address (-H value or DOCKER_HOST), normalised for comparison. */
export function parseDockerAddress(raw: string): DockerAddress {
  const value = raw.trim();
  if (value.startsWith('unix://')) return { kind: 'unix', path: normaliseSocketPath(value.slice('unix://'.length)) };
  if (value.startsWith('/')) return { kind: 'unix', path: normaliseSocketPath(value) };
  if (value.startsWith('fd://')) return { kind: 'fd' };
  const tcp = /^(?:tcp|http|https):\/\/(\[[^\]]*\]|[^:/]*)(?::(\d+))?/.exec(value);
  if (tcp) {
    const tls = value.startsWith('https://');
    return { kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port: tcp[2] ? Number(tcp[2]) : tls ? 2376 : 2375 };
  }
  if (value.startsWith(':')) return { kind: 'tcp', host: '', port: Number(value.slice(1)) || 2375 };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1] ?? '';
  return { kind: 'other', scheme, raw: value };
}

/** /var/run is a symlink to /run on every systemd distribution: compare sockets without it. */
export function normaliseSocketPath(path: string): string {
  const cleaned = path.replace(/\/+/g, '/');
  return cleaned.startsWith('/var/run/') ? cleaned.slice('/var'.length) : cleaned;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '']);
const ANY = new Set(['0.0.0.0', '::', '']);

/** Whether a Docker address points at this machine (a unix socket, or TCP on loopback). */
export function isLocalAddress(address: DockerAddress): boolean {
  if (address.kind === 'unix' || address.kind === 'fd') return true;
  if (address.kind === 'tcp') return LOOPBACK.has(address.host) || address.host.startsWith('127.');
  return false;
}

/** Whether a daemon listening on `listen` serves a client talking to `target`. */
export function addressServes(listen: DockerAddress, target: DockerAddress): boolean {
  if (listen.kind === 'unix' && target.kind === 'unix') return listen.path === target.path;
  if (listen.kind === 'tcp' && target.kind === 'tcp') {
    if (listen.port !== target.port) return false;
    return listen.host === target.host || ANY.has(listen.host) || (LOOPBACK.has(listen.host) && isLocalAddress(target));
  }
  return false;
}
