/**
 * The comparison behind `verify`, pure: what the run recorded ("before") against what the host
 * holds now ("after"), as plain data. Every difference becomes a blocker entry with a stable
 * key that names the object and the field; each kind of object also gets one info entry
 * saying what matched. No I/O: verify-host.ts gathers the "after" side.
 */
import { diffTrees } from '../archive/tree.js';
import type { ContainerInspect } from '../docker/create-spec.js';
import { effectivePool } from '../docker/ipam.js';
import { keepsFilesOnHost, type ContainerRecord, type ImageRecord, type Inventory, type IpamPoolRecord, type NetworkRecord, type VolumeRecord } from '../docker/types.js';
import { sortEntries, type ReportEntry } from '../report/entry.js';
import type { RecordedInventory, VerifyExpectation } from '../record/run-files.js';
import { normalizeContainer, RESOURCE_KEYS, type NormalizedContainer } from './normalize.js';
import type { RecordedTreeEntry, RecordedVolumeTrees, VerifyCounts, VerifyResult } from './types.js';
import { ENV_VALUE_REMOVED } from '../record/secrets-at-rest.js';

/** At most this many file differences are listed per volume; the rest are counted in one entry. */
export const MAX_FILE_ENTRIES_PER_VOLUME = 50;

/** A storage setting found in the configuration (see config-state in verify-host.ts). */
export interface ConfigPlace {
  /** "/etc/sysconfig/docker:3 (OPTIONS)". */
  where: string;
  path: string;
  /** The flags as written: "--storage-driver devicemapper", "--storage-opt dm.thinpooldev=…". */
  flags: string[];
}

/** The host's configuration as verify needs it: daemon.json's storage settings and flags elsewhere. */
export interface ConfigState {
  daemonJsonPath: string;
  daemonJsonPresent: boolean;
  /** The syntax problem, when daemon.json is not valid JSON. */
  daemonJsonError?: string;
  storageDriver?: string;
  storageOpts: string[];
  /** daemon.json sets data-root (or graph): a --data-root flag elsewhere then conflicts too. */
  daemonJsonSetsDataRoot: boolean;
  /** Storage flags in systemd units, drop-ins and environment files (not the running command line). */
  places: (ConfigPlace & { settings: string[] })[];
  /**
   * docker-storage-setup, when its unit is installed (RHEL 7): it runs before every start of
   * dockerd and rewrites /etc/sysconfig/docker-storage unless its STORAGE_DRIVER is empty.
   */
  storageSetup?: StorageSetupState;
  /** How many files were read (daemon.json, units, drop-ins, environment files). */
  filesRead: number;
  /** Probes that failed: the configuration could not be fully read. */
  problems: string[];
}

export interface StorageSetupState {
  /** Its unit files ("/usr/lib/systemd/system/docker-storage-setup.service"). */
  units: string[];
  /** Its settings file, /etc/sysconfig/docker-storage-setup. */
  path: string;
  fileExists: boolean;
  /** STORAGE_DRIVER as the file sets it; undefined when unset (its default is devicemapper). */
  storageDriver?: string;
}

/** The "after" side: what the host holds now. */
export interface CurrentHost {
  inventory: Inventory;
  /** Full inspects of the selected containers that exist now. */
  inspects: ContainerInspect[];
  /** Current trees of recorded volumes, by volume name (an error when unreadable). */
  volumeTrees?: Record<string, { path: string; entries?: RecordedTreeEntry[]; error?: string }>;
  /** Present when the configuration was read (expect.configMustBeClean). */
  config?: ConfigState;
}

export interface CompareInput {
  recorded: RecordedInventory;
  volumeTrees?: RecordedVolumeTrees;
  expect: VerifyExpectation;
  current: CurrentHost;
  /** Defaults to now. */
  checkedAt?: string;
}

type Kind = 'driver' | 'image' | 'container' | 'network' | 'volume' | 'config';

/** A value for a summary: strings quoted, absent as "none". */
const q = (value: unknown): string => (value === undefined || value === null ? 'none' : JSON.stringify(value));
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
/** "3 included containers exist" / "1 included container exists". */
const included = (n: number, word: string, verb = 'exist') => `${n} included ${word}${n === 1 ? '' : 's'}${verb ? ` ${verb}${n === 1 ? 's' : ''}` : ''}`;

const REMEDY: Record<Kind, string> = {
  driver: 'Check daemon.json and how dockerd is started (docker info shows the driver in use); run `devmapper-migrate rollback` if the run cannot be completed.',
  image: 'Load the image from the run’s images/ directory (docker load -i), or re-tag it (docker tag), then run verify again.',
  container:
    'Recreate the container from its recorded configuration (the full inspect is in the run’s inventory.json), or run `devmapper-migrate rollback`; then run verify again.',
  network: 'Recreate the network as recorded in the run’s inventory.json (docker network create with the same driver, options, IPAM and labels), then run verify again.',
  volume: 'Restore the volume’s data from the run’s volumes/ archive or the kept data-root, or run `devmapper-migrate rollback`; then run verify again.',
  config:
    'Remove the setting by hand (keep a copy), reload systemd if a unit changed (systemctl daemon-reload), then run verify again. Engine v25 will not start with devicemapper configured.',
};

/** Collects entries and counts differences, with a cap for long per-volume lists. */
class Findings {
  readonly entries: ReportEntry[] = [];
  differences = 0;

  difference(kind: Kind, key: string, title: string, summary: string, details: Record<string, unknown>, remediation = REMEDY[kind]): void {
    this.differences++;
    this.entries.push({ key, severity: 'blocker', title, summary, remediation, details: { kind, ...details } });
  }

  warning(key: string, title: string, summary: string, details: Record<string, unknown>, remediation?: string): void {
    this.entries.push({ key, severity: 'warning', title, summary, ...(remediation ? { remediation } : {}), details });
  }

  info(key: string, title: string, summary: string, details: Record<string, unknown>): void {
    this.entries.push({ key, severity: 'info', title, summary, details });
  }
}

function compareDriver(f: Findings, expect: VerifyExpectation, inventory: Inventory): void {
  const actual = inventory.daemon.driver;
  if (actual !== expect.driver) {
    f.difference('driver', 'verify-driver', `The daemon runs ${actual || 'no known driver'}, not ${expect.driver}`,
      `docker info shows storage driver ${q(actual)}; the host must be on ${q(expect.driver)}.`,
      { field: 'driver', before: expect.driver, after: actual });
  } else {
    f.info('verify-summary-driver', `Storage driver: ${actual}`, `The daemon runs the ${actual} storage driver, as expected.`, { driver: actual });
  }
}

function compareImages(f: Findings, recorded: RecordedInventory, now: Inventory, counts: VerifyCounts): void {
  const before = new Map<string, ImageRecord>(recorded.inventory.images.map((i) => [i.id, i]));
  const after = new Map<string, ImageRecord>(now.images.map((i) => [i.id, i]));
  let matched = 0;
  for (const id of recorded.selection.images) {
    counts.images++;
    const want = before.get(id);
    const have = after.get(id);
    const name = want?.tags[0] ?? shortId(id);
    counts.tags += want?.tags.length ?? 0;
    if (!have) {
      // A tag may have come back on another image: say where, it is the likeliest mistake.
      const elsewhere = (want?.tags ?? []).map((t) => [t, now.images.find((i) => i.tags.includes(t))?.id] as const).filter(([, at]) => at);
      f.difference('image', 'verify-image-missing', `Image ${name} is missing`,
        `Image ${shortId(id)} (${want?.tags.length ? want.tags.join(', ') : 'untagged'}) is not on the host.` +
          (elsewhere.length ? ` Its tag ${elsewhere.map(([t, at]) => `${t} points to ${shortId(at!)}`).join(', ')} instead.` : ''),
        { field: 'id', image: id, tags: want?.tags ?? [], before: id, after: null });
      continue;
    }
    let ok = true;
    for (const tag of want?.tags ?? []) {
      if (have.tags.includes(tag)) continue;
      ok = false;
      const at = now.images.find((i) => i.tags.includes(tag))?.id;
      f.difference('image', 'verify-image-tag', `Image ${shortId(id)}: tag ${tag} is missing`,
        `Image ${shortId(id)} no longer has the tag ${q(tag)}` + (at ? `; it points to image ${shortId(at)}.` : '; no image has it.'),
        { field: 'tag', image: id, tag, before: tag, after: at ?? null });
    }
    if (!extraTags(f, id, want?.tags ?? [], have.tags, recordedTagsElsewhere(recorded, id)) && ok) matched++;
  }
  f.info('verify-summary-images', 'Images', `${matched} of ${included(counts.images, 'image', '')} present with the same ID and all of ${counts.images === 1 ? 'its' : 'their'} ${counts.tags} tag${counts.tags === 1 ? '' : 's'}.`,
    { checked: counts.images, matched, tags: counts.tags });
}

/** Tags the record gives other images: one of them found here is already named where it went missing. */
function recordedTagsElsewhere(recorded: RecordedInventory, id: string): Set<string> {
  return new Set(recorded.inventory.images.filter((i) => i.id !== id).flatMap((i) => i.tags));
}

/** Tags the image has now and did not have (a name the run left behind); true when there are any. */
function extraTags(f: Findings, id: string, before: readonly string[], now: readonly string[], reportedElsewhere: ReadonlySet<string>): boolean {
  const extra = now.filter((tag) => !before.includes(tag));
  for (const tag of extra.filter((t) => !reportedElsewhere.has(t))) {
    f.difference('image', 'verify-image-tag-extra', `Image ${shortId(id)}: tag ${tag} was not there`,
      `Image ${shortId(id)} has the tag ${q(tag)}, which it did not have before${before.length ? '' : ' (it was untagged)'}.`,
      { field: 'tag', image: id, tag, before: null, after: tag },
      before.length
        ? `Remove the tag (docker rmi ${tag}; the image keeps its other tags), then run verify again.`
        : 'The image had no tag: `docker rmi` of its only tag would delete the image itself. Leave the tag, or remove it once the image is no longer needed.');
  }
  return extra.length > 0;
}

const idToName = (containers: readonly ContainerRecord[]) => new Map(containers.map((c) => [c.id, c.name]));

/** "cmd" → "command"; the words used in titles and summaries. */
const FIELD_WORDS: Record<string, string> = {
  image: 'image reference',
  imageId: 'image',
  cmd: 'command',
  entrypoint: 'entrypoint',
  workingDir: 'working dir',
  user: 'user',
  restartPolicy: 'restart policy',
  networkMode: 'network mode',
  publishAllPorts: 'publish all ports',
};

const FIELD_KEYS: Record<string, string> = {
  image: 'verify-container-image',
  imageId: 'verify-container-image',
  cmd: 'verify-container-command',
  entrypoint: 'verify-container-entrypoint',
  workingDir: 'verify-container-working-dir',
  user: 'verify-container-user',
  restartPolicy: 'verify-container-restart-policy',
  networkMode: 'verify-container-network',
  publishAllPorts: 'verify-container-ports',
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Map differences: each key added, removed or changed. */
function mapDiff<T>(before: Record<string, T>, after: Record<string, T>): { item: string; before?: T; after?: T }[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(byString);
  return keys
    .filter((k) => !(k in before && k in after && same(before[k], after[k])))
    .map((k) => ({ item: k, ...(k in before ? { before: before[k] } : {}), ...(k in after ? { after: after[k] } : {}) }));
}

const change = (before: unknown, after: unknown, show: (v: unknown) => string = q) =>
  before === undefined ? `added (${show(after)})` : after === undefined ? `removed (was ${show(before)})` : `${show(before)} → ${show(after)}`;

function containerDiffs(f: Findings, name: string, want: NormalizedContainer, have: NormalizedContainer): number {
  const start = f.differences;
  const diff = (key: string, what: string, summary: string, details: Record<string, unknown>) =>
    f.difference('container', key, `Container ${name}: ${what} differs`, `Container ${q(name)}, ${summary}.`, { container: name, ...details });

  if (want.imageId !== have.imageId) {
    diff('verify-container-image', 'image', `image ${shortId(want.imageId)} → ${shortId(have.imageId)}`, { field: 'imageId', before: want.imageId, after: have.imageId });
  }
  if (want.image !== have.image) {
    if (have.image === want.imageId && have.imageId === want.imageId) {
      // The run creates from the image ID when the reference no longer resolves to the same image.
      f.warning('verify-container-image-reference', `Container ${name}: created from the image ID`,
        `Container ${q(name)} runs the same image (${shortId(want.imageId)}), but its reference is the ID instead of ${q(want.image)}: that reference no longer resolved to this image when the container was recreated.`,
        { kind: 'container', container: name, field: 'image', before: want.image, after: have.image },
        `Re-tag the image (docker tag ${shortId(want.imageId)} ${want.image}) if the container should name it.`);
    } else {
      diff('verify-container-image', 'image reference', `image reference ${change(want.image, have.image)}`, { field: 'image', before: want.image, after: have.image });
    }
  }
  for (const field of ['cmd', 'entrypoint', 'workingDir', 'user', 'restartPolicy', 'networkMode', 'publishAllPorts'] as const) {
    if (!same(want[field], have[field])) {
      diff(FIELD_KEYS[field]!, FIELD_WORDS[field]!, `${FIELD_WORDS[field]} ${q(want[field])} → ${q(have[field])}`, { field, before: want[field], after: have[field] });
    }
  }
  // Values of environment variables are not shown: they often hold secrets.
  for (const d of mapDiff(want.env, have.env)) {
    // After finalize the recorded values are gone (secrets at rest): only the names are compared.
    if (d.before === ENV_VALUE_REMOVED && d.after !== undefined) continue;
    const how = d.before === undefined ? 'added' : d.after === undefined ? 'removed' : 'value changed';
    diff('verify-container-env', `environment variable ${d.item}`, `environment variable ${q(d.item)}: ${how}`, { field: 'env', item: d.item, change: how });
  }
  for (const d of mapDiff(want.labels, have.labels)) {
    diff('verify-container-label', `label ${d.item}`, `label ${q(d.item)}: ${change(d.before, d.after)}`, { field: 'label', item: d.item, before: d.before ?? null, after: d.after ?? null });
  }
  const mountText = (m: unknown) => {
    const mount = m as NormalizedContainer['mounts'][string];
    return `${mount.type}${mount.source ? ` ${mount.source}` : ''}${mount.rw ? '' : ' (read-only)'}`;
  };
  for (const d of mapDiff(want.mounts, have.mounts)) {
    diff('verify-container-mount', `mount ${d.item}`, `mount at ${q(d.item)}: ${change(d.before, d.after, mountText)}`, { field: 'mount', item: d.item, before: d.before ?? null, after: d.after ?? null });
  }
  for (const d of mapDiff(want.ports, have.ports)) {
    const show = (v: unknown) => (v as string[]).join(', ') || 'not published';
    diff('verify-container-ports', `port ${d.item}`, `port ${q(d.item)}: ${change(d.before, d.after, show)}`, { field: 'port', item: d.item, before: d.before ?? null, after: d.after ?? null });
  }
  compareEndpoints(diff, want, have);
  for (const key of RESOURCE_KEYS) {
    if (want.resources[key] !== have.resources[key]) {
      diff('verify-container-resources', `resource limit ${key}`, `resource limit ${key} ${q(want.resources[key])} → ${q(have.resources[key])}`,
        { field: 'resources', item: key, before: want.resources[key], after: have.resources[key] });
    }
  }
  if (want.running !== have.running) {
    const word = (running: boolean) => (running ? 'running' : 'not running');
    diff('verify-container-state', 'state', `state ${word(want.running)} → ${word(have.running)}`, { field: 'state', before: word(want.running), after: word(have.running) });
  }
  return f.differences - start;
}

type DiffFn = (key: string, what: string, summary: string, details: Record<string, unknown>) => void;

function compareEndpoints(diff: DiffFn, want: NormalizedContainer, have: NormalizedContainer): void {
  for (const network of [...new Set([...Object.keys(want.networks), ...Object.keys(have.networks)])].sort(byString)) {
    const a = want.networks[network];
    const b = have.networks[network];
    if (!a || !b) {
      diff('verify-container-network', `network ${network}`, a ? `network ${q(network)}: no longer connected` : `network ${q(network)}: connected, but was not`,
        { field: 'network', item: network, before: a ? 'connected' : null, after: b ? 'connected' : null });
      continue;
    }
    for (const field of ['aliases', 'ipv4', 'ipv6', 'linkLocal'] as const) {
      if (same(a[field], b[field])) continue;
      const word = { aliases: 'aliases', ipv4: 'static IPv4 address', ipv6: 'static IPv6 address', linkLocal: 'link-local addresses' }[field];
      const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : v ? String(v) : 'none (dynamic)');
      diff('verify-container-network', `network ${network} ${word}`, `network ${q(network)}, ${word}: ${show(a[field])} → ${show(b[field])}`,
        { field: `network.${field}`, item: network, before: a[field], after: b[field] });
    }
  }
}

function compareContainers(f: Findings, recorded: RecordedInventory, current: CurrentHost, counts: VerifyCounts): void {
  const beforeNames = idToName(recorded.inventory.containers);
  const afterNames = idToName(current.inventory.containers);
  const inspectsBefore = new Map(recorded.inspects.map((i) => [i.Name.replace(/^\//, ''), i]));
  const inspectsAfter = new Map(current.inspects.map((i) => [i.Name.replace(/^\//, ''), i]));
  let matched = 0;
  for (const name of recorded.selection.containers) {
    counts.containers++;
    const before = inspectsBefore.get(name);
    const after = inspectsAfter.get(name);
    if (!before) {
      f.warning('verify-container-unrecorded', `Container ${name}: nothing recorded to compare`,
        `Container ${q(name)} is in the run's selection but the inventory holds no inspect of it, so it cannot be compared.`, { kind: 'container', container: name });
      continue;
    }
    if (!after) {
      f.difference('container', 'verify-container-missing', `Container ${name} is missing`, `Container ${q(name)} does not exist on the host.`,
        { container: name, field: 'exists', before: true, after: false });
      continue;
    }
    if (containerDiffs(f, name, normalizeContainer(before, beforeNames), normalizeContainer(after, afterNames)) === 0) matched++;
  }
  f.info('verify-summary-containers', 'Containers',
    `${matched} of ${included(counts.containers, 'container')} with the same image, command, entrypoint, environment, labels, working dir, user, restart policy, mounts, ports, networks, resource limits and state.`,
    { checked: counts.containers, matched });
}

interface NetworkShape {
  driver: string;
  scope: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  ipamDriver: string;
  ipamOptions: Record<string, string>;
  pools: string[];
  options: Record<string, string>;
  labels: Record<string, string>;
}

function poolText(pool: IpamPoolRecord): string {
  const aux = Object.entries(pool.auxAddresses ?? {}).sort(([a], [b]) => byString(a, b)).map(([k, v]) => `${k}=${v}`);
  return [pool.subnet && `subnet ${pool.subnet}`, pool.gateway && `gateway ${pool.gateway}`, pool.ipRange && `range ${pool.ipRange}`, aux.length && `aux ${aux.join(',')}`]
    .filter(Boolean)
    .join(' ');
}

function networkShape(record: NetworkRecord): NetworkShape {
  return {
    driver: record.driver,
    scope: record.scope,
    internal: record.internal,
    attachable: record.attachable,
    enableIPv6: record.enableIPv6,
    ipamDriver: !record.ipam.driver || record.ipam.driver === 'default' ? 'default' : record.ipam.driver,
    ipamOptions: record.ipam.options ?? {},
    // As Docker defines the pool: dockerd 20.10 shows a default gateway only after a restart.
    pools: record.ipam.config.map((pool) => poolText(effectivePool(pool))).sort(byString),
    options: record.options ?? {},
    labels: record.labels ?? {},
  };
}

function compareNetworks(f: Findings, recorded: RecordedInventory, now: Inventory, counts: VerifyCounts): void {
  const before = new Map(recorded.inventory.networks.map((n) => [n.name, n]));
  const after = new Map(now.networks.map((n) => [n.name, n]));
  let matched = 0;
  for (const name of recorded.selection.networks) {
    counts.networks++;
    const want = before.get(name);
    const have = after.get(name);
    if (!want) continue;
    if (!have) {
      f.difference('network', 'verify-network-missing', `Network ${name} is missing`, `Network ${q(name)} does not exist on the host.`,
        { network: name, field: 'exists', before: true, after: false });
      continue;
    }
    const start = f.differences;
    const a = networkShape(want);
    const b = networkShape(have);
    const diff = (key: string, what: string, summary: string, details: Record<string, unknown>) =>
      f.difference('network', key, `Network ${name}: ${what} differs`, `Network ${q(name)}, ${summary}.`, { network: name, ...details });
    for (const field of ['driver', 'scope', 'internal', 'attachable', 'enableIPv6', 'ipamDriver'] as const) {
      if (a[field] !== b[field]) diff(`verify-network-${field === 'ipamDriver' ? 'ipam' : field === 'driver' ? 'driver' : 'flags'}`, field, `${field} ${q(a[field])} → ${q(b[field])}`, { field, before: a[field], after: b[field] });
    }
    if (!same(a.pools, b.pools)) {
      const show = (pools: string[]) => (pools.length ? pools.join('; ') : 'none');
      diff('verify-network-ipam', 'IPAM', `IPAM pools ${show(a.pools)} → ${show(b.pools)}`, { field: 'ipam', before: a.pools, after: b.pools });
    }
    for (const [field, key, word] of [['ipamOptions', 'verify-network-ipam', 'IPAM option'], ['options', 'verify-network-option', 'option'], ['labels', 'verify-network-label', 'label']] as const) {
      for (const d of mapDiff(a[field], b[field])) {
        diff(key, `${word} ${d.item}`, `${word} ${q(d.item)}: ${change(d.before, d.after)}`, { field, item: d.item, before: d.before ?? null, after: d.after ?? null });
      }
    }
    if (f.differences === start) matched++;
  }
  f.info('verify-summary-networks', 'Networks',
    `${matched} of ${included(counts.networks, 'user-defined network')} with the same driver, options, IPAM, flags and labels.`,
    { checked: counts.networks, matched });
}

const FILE_FIELD_WORDS: Record<string, string> = {
  missing: 'missing',
  extra: 'new (was not there)',
  kind: 'kind',
  content: 'content',
  size: 'size',
  mode: 'mode',
  owner: 'owner',
  linkTarget: 'symlink target',
  mtime: 'modification time',
  hardlink: 'hard link',
  device: 'device numbers',
  xattrs: 'extended attributes',
};

interface FileDifference {
  path: string;
  field: string;
  before?: string;
  after?: string;
}

/** Differences between two recorded trees: diffTrees's, plus file sizes when contents were not hashed. */
export function treeDifferences(before: readonly RecordedTreeEntry[], after: readonly RecordedTreeEntry[], content: boolean): FileDifference[] {
  const left = byPath(before);
  const right = byPath(after);
  const out: FileDifference[] = diffTrees(left, right, { ignoreContent: !content }).map((d) => ({ path: d.path, field: d.field, before: d.a, after: d.b }));
  if (!content) {
    for (const [path, x] of left) {
      const y = right.get(path);
      if (y && x.kind === 'file' && y.kind === 'file' && x.size !== y.size) out.push({ path, field: 'size', before: String(x.size), after: String(y.size) });
    }
  }
  if (out.length === 0) return out;
  // Per path, in walk order, so that a file's findings stay together.
  const order = new Map<string, number>();
  for (const entry of [...before, ...after]) if (!order.has(entry.path)) order.set(entry.path, order.size);
  return out.sort((a, b) => (order.get(a.path) ?? 0) - (order.get(b.path) ?? 0));
}

function byPath(entries: readonly RecordedTreeEntry[]): Map<string, RecordedTreeEntry> {
  const map = new Map<string, RecordedTreeEntry>();
  for (const entry of entries) map.set(entry.path, entry);
  return map;
}

function fileSummary(volume: string, d: FileDifference): string {
  const what = d.path === '.' ? 'its data directory' : `file ${q(d.path)}`;
  if (d.field === 'missing') return `Volume ${q(volume)}, ${what}: missing (was a ${d.before}).`;
  if (d.field === 'extra') return `Volume ${q(volume)}, ${what}: new (a ${d.after} that was not there).`;
  if (d.field === 'content') return `Volume ${q(volume)}, ${what}: content differs (sha256 ${d.before?.slice(0, 12) ?? 'none'}… → ${d.after?.slice(0, 12) ?? 'none'}…).`;
  return `Volume ${q(volume)}, ${what}: ${FILE_FIELD_WORDS[d.field] ?? d.field} ${d.before ?? 'none'} → ${d.after ?? 'none'}.`;
}

function compareVolumeTree(f: Findings, name: string, trees: RecordedVolumeTrees, current: CurrentHost, counts: VerifyCounts): boolean {
  const recorded = trees.volumes.find((v) => v.name === name);
  if (!recorded) return true;
  const now = current.volumeTrees?.[name];
  if (recorded.error || !recorded.entries) {
    f.warning('verify-volume-tree-unrecorded', `Volume ${name}: files not compared`,
      `The files of volume ${q(name)} could not be recorded before the cutover (${recorded.error ?? 'no entries'}), so they cannot be compared.`, { kind: 'volume', volume: name });
    return true;
  }
  if (!now || now.error || !now.entries) {
    f.difference('volume', 'verify-volume-unreadable', `Volume ${name}: files cannot be read`,
      `The data directory of volume ${q(name)}${now?.path ? ` (${now.path})` : ''} cannot be read now: ${now?.error ?? 'not found'}.`,
      { volume: name, field: 'files', path: now?.path ?? null, error: now?.error ?? null });
    return false;
  }
  counts.volumeTrees++;
  counts.volumeEntries += recorded.entries.length;
  const diffs = treeDifferences(recorded.entries, now.entries, trees.content);
  for (const d of diffs.slice(0, MAX_FILE_ENTRIES_PER_VOLUME)) {
    f.difference('volume', 'verify-volume-file', `Volume ${name}: ${d.path === '.' ? 'data directory' : d.path} ${FILE_FIELD_WORDS[d.field] ?? d.field}`, fileSummary(name, d),
      { volume: name, field: 'file', item: d.path, what: d.field, before: d.before ?? null, after: d.after ?? null });
  }
  const rest = diffs.length - MAX_FILE_ENTRIES_PER_VOLUME;
  if (rest > 0) {
    f.entries.push({
      key: 'verify-volume-file',
      severity: 'blocker',
      title: `Volume ${name}: ${rest} more file differences`,
      summary: `Volume ${q(name)} has ${rest} more file differences than the ${MAX_FILE_ENTRIES_PER_VOLUME} listed.`,
      remediation: REMEDY.volume,
      details: { kind: 'volume', volume: name, field: 'file', more: rest, paths: diffs.slice(MAX_FILE_ENTRIES_PER_VOLUME).map((d) => `${d.path}: ${d.field}`) },
    });
    f.differences += rest;
  }
  return diffs.length === 0;
}

function compareVolumes(f: Findings, input: CompareInput, counts: VerifyCounts): void {
  const before = new Map<string, VolumeRecord>(input.recorded.inventory.volumes.map((v) => [v.name, v]));
  const after = new Map<string, VolumeRecord>(input.current.inventory.volumes.map((v) => [v.name, v]));
  let matched = 0;
  for (const name of input.recorded.selection.volumes) {
    counts.volumes++;
    const want = before.get(name);
    const have = after.get(name);
    if (!want) continue;
    if (!have) {
      f.difference('volume', 'verify-volume-missing', `Volume ${name} is missing`, `Volume ${q(name)} does not exist on the host.`,
        { volume: name, field: 'exists', before: true, after: false });
      continue;
    }
    const start = f.differences;
    if (want.driver !== have.driver) {
      f.difference('volume', 'verify-volume-driver', `Volume ${name}: driver differs`, `Volume ${q(name)}, driver ${q(want.driver)} → ${q(have.driver)}.`,
        { volume: name, field: 'driver', before: want.driver, after: have.driver });
    }
    for (const [field, key, word] of [['options', 'verify-volume-option', 'option'], ['labels', 'verify-volume-label', 'label']] as const) {
      for (const d of mapDiff(want[field] ?? {}, have[field] ?? {})) {
        f.difference('volume', key, `Volume ${name}: ${word} ${d.item} differs`, `Volume ${q(name)}, ${word} ${q(d.item)}: ${change(d.before, d.after)}.`,
          { volume: name, field, item: d.item, before: d.before ?? null, after: d.after ?? null });
      }
    }
    // tmpfs-backed and remote volumes: the same definition is all; their files are not the host's to keep.
    const filesOk = input.volumeTrees && keepsFilesOnHost(want) ? compareVolumeTree(f, name, input.volumeTrees, input.current, counts) : true;
    if (f.differences === start && filesOk) matched++;
  }
  const trees = input.volumeTrees
    ? `; files compared in ${counts.volumeTrees} (${counts.volumeEntries} entries: ${input.volumeTrees.content ? 'content checksum' : 'size'}, mode, owner, symlink target, modification time)`
    : '; files not compared';
  f.info('verify-summary-volumes', 'Volumes',
    `${matched} of ${included(counts.volumes, 'volume', '')} ${counts.volumes === 1 ? 'matches' : 'match'} (driver, options, labels${input.volumeTrees ? ', files' : ''})${trees}.`,
    { checked: counts.volumes, matched, trees: counts.volumeTrees, entries: counts.volumeEntries, content: input.volumeTrees?.content ?? null });
}

const isDmOption = (option: string) => /^dm\./i.test(option.trim());

function compareConfig(f: Findings, expect: VerifyExpectation, config: ConfigState | undefined, counts: VerifyCounts): void {
  if (!expect.configMustBeClean) return;
  if (!config) {
    f.warning('verify-config-unread', 'Configuration not checked', 'The daemon configuration was not read, so leftovers of devicemapper were not looked for.', { kind: 'config' });
    return;
  }
  counts.configFiles = config.filesRead;
  const start = f.differences;
  const at = config.daemonJsonPath;
  if (config.daemonJsonError) {
    f.difference('config', 'verify-config-daemon-json', `${at} is not valid JSON`, `${at}: ${config.daemonJsonError}. dockerd will not start with it.`,
      { path: at, field: 'syntax', error: config.daemonJsonError });
  } else if (config.storageDriver !== expect.driver) {
    f.difference('config', 'verify-config-driver', `${at} does not name ${expect.driver}`,
      config.storageDriver
        ? `${at} sets storage-driver ${q(config.storageDriver)}; the host must be on ${q(expect.driver)}.`
        : `${config.daemonJsonPresent ? at : `${at} does not exist and`} names no storage driver: Engine v25 would pick one by itself and start on an empty overlay2. It must say storage-driver ${q(expect.driver)}.`,
      { path: at, field: 'storage-driver', before: expect.driver, after: config.storageDriver ?? null });
  }
  if (expect.driver !== 'devicemapper') {
    const dm = config.storageOpts.filter(isDmOption);
    if (dm.length) {
      f.difference('config', 'verify-config-dm-option', `${at} still holds devicemapper options`,
        `${at} storage-opts still holds ${dm.join(', ')}: "error initializing graphdriver: ${expect.driver}: unknown option ${dm[0]!.split('=')[0]}" at the next start.`,
        { path: at, field: 'storage-opts', options: dm });
    }
  }
  for (const place of config.places) {
    const conflicting = place.settings.some((s) => s === 'storage-driver' || s === 'storage-opts' || (s === 'data-root' && config.daemonJsonSetsDataRoot));
    if (!conflicting) continue;
    f.difference('config', 'verify-config-flag', `Storage flags left in ${place.path}`,
      `${place.where} still sets ${place.flags.join(' ')}. With daemon.json naming the driver, dockerd refuses to start ("the following directives are specified both as a flag and in the configuration file").`,
      { path: place.path, where: place.where, field: 'flags', flags: place.flags });
  }
  if (expect.driver !== 'devicemapper') compareStorageSetup(f, config.storageSetup);
  for (const problem of config.problems) {
    f.warning('verify-config-unread', 'Part of the configuration could not be read', `${problem}: leftovers there were not looked for.`, { kind: 'config', problem });
  }
  if (f.differences === start) {
    f.info('verify-summary-config', 'Configuration',
      `No devicemapper driver, dm.* option or conflicting storage flag in ${at}, docker.service's unit and drop-ins, or /etc/sysconfig and /etc/default (${config.filesRead} file${config.filesRead === 1 ? '' : 's'} read)` +
        `${config.storageSetup ? '; docker-storage-setup is off (STORAGE_DRIVER="")' : ''}.`,
      { files: config.filesRead });
  }
}

/** docker-storage-setup must be off (STORAGE_DRIVER=""), as the run left it: otherwise it writes storage flags back. */
function compareStorageSetup(f: Findings, setup: StorageSetupState | undefined): void {
  if (!setup || setup.storageDriver === '') return;
  const setting = !setup.fileExists
    ? `${setup.path} does not exist, so it runs on its default, STORAGE_DRIVER=devicemapper`
    : setup.storageDriver === undefined
      ? `${setup.path} does not set STORAGE_DRIVER, so it runs on its default, devicemapper`
      : `${setup.path} sets STORAGE_DRIVER=${setup.storageDriver}`;
  f.difference('config', 'verify-config-storage-setup', 'docker-storage-setup is not off',
    `${setup.units.join(', ')} is installed and ${setting}. It runs before every start of dockerd and writes "--storage-driver ${setup.storageDriver || 'devicemapper'}" into /etc/sysconfig/docker-storage ` +
      '(for devicemapper, once the old thin pool is gone, it builds a new one first); with daemon.json naming the driver, dockerd then refuses to start.',
    { path: setup.path, field: 'STORAGE_DRIVER', before: '', after: setup.fileExists ? (setup.storageDriver ?? null) : null, units: setup.units },
    `Set STORAGE_DRIVER="" in ${setup.path} (create the file if it is missing; keep a copy), then run verify again. Do not set STORAGE_DRIVER=overlay2 there while daemon.json names the driver.`);
}

/** Compares what the run recorded with what the host holds now (see the module comment). */
export function compareHost(input: CompareInput): VerifyResult {
  const f = new Findings();
  const counts: VerifyCounts = { images: 0, tags: 0, containers: 0, networks: 0, volumes: 0, volumeTrees: 0, volumeEntries: 0, configFiles: 0 };
  compareDriver(f, input.expect, input.current.inventory);
  compareConfig(f, input.expect, input.current.config, counts);
  compareImages(f, input.recorded, input.current.inventory, counts);
  compareNetworks(f, input.recorded, input.current.inventory, counts);
  compareVolumes(f, input, counts);
  compareContainers(f, input.recorded, input.current, counts);
  return {
    checkedAt: input.checkedAt ?? new Date().toISOString(),
    expect: { driver: input.expect.driver, configMustBeClean: input.expect.configMustBeClean },
    entries: sortEntries(f.entries),
    differences: f.differences,
    checked: counts,
  };
}
