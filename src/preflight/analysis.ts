/**
 * Derived facts shared by the checks, computed once from PreflightFacts: parsed configuration,
 * the places storage flags hide, versions, the devicemapper pool's state, size estimates.
 * Pure.
 */
import { daemonJsonStorage, parseDaemonJson, type DaemonJsonParse, type DaemonJsonStorage } from '../config/daemon-json.js';
import {
  dockerdArgsOf,
  environmentOf,
  execStartArgv,
  parseDockerdArgs,
  parseEnvironmentFile,
  parseUnitFile,
  referencedVariables,
  serviceCommand,
  storageFlagsInOptions,
  type ServiceCommand,
  type StorageFlag,
} from '../config/dockerd-flags.js';
import { wordsOf } from '../text/words.js';
import { IMAGE_LOADS_AT_ONCE } from '../docker/images.js';
import type { DaemonFacts, Inventory } from '../docker/types.js';
import type { DevicemapperDirFact, HostFacts, PreflightFacts } from '../facts/types.js';
import { formatBytes } from '../report/format.js';
import type { PreflightOptions } from './options.js';

export const SOURCE_DRIVERS = ['devicemapper', 'aufs', 'overlay', 'vfs'];

/** A place outside daemon.json where dockerd storage flags are set. */
export interface FlagPlace {
  kind: 'systemd-unit' | 'systemd-drop-in' | 'environment-file' | 'cmdline';
  path: string;
  line?: number;
  /** The variable holding the flags (DOCKER_STORAGE_OPTIONS, OPTIONS, DOCKER_OPTS...). */
  variable?: string;
  /** Whether the daemon's start command uses it: the effective ExecStart, a variable it
   * expands from its EnvironmentFile=, or the running command line. */
  active: boolean;
  flags: StorageFlag[];
}

export interface Version {
  raw: string;
  major: number;
  minor: number;
}

export interface PoolState {
  mode: 'loop-lvm' | 'direct-lvm';
  poolName?: string;
  dataUsed?: number;
  dataTotal?: number;
  dataAvailable?: number;
  metadataUsed?: number;
  metadataTotal?: number;
  metadataAvailable?: number;
  /** "Thin Pool Minimum Free Space", when the daemon reports it. */
  minFree?: number;
  /** Data and metadata backing: loop files or devices ("Data file", "Data loop file", ...). */
  files: Record<string, string>;
}

export interface SizeEstimate {
  imageCount: number;
  /** Sum of image sizes: what the image archives take, as each image's archive holds every layer it has. */
  imagesBytes: number;
  /** Image layers as a driver stores them, each shared layer once (/system/df LayersSize); the sum of image sizes when not measured. */
  layersBytes: number;
  containerCount: number;
  runningCount: number;
  /** Sum of writable layers (SizeRw). */
  writableBytes: number;
  /** Local volumes whose data is carried. */
  volumeCount: number;
  volumesBytes: number;
  /** Local volumes the daemon gave no size for: not counted. */
  unknownSizeVolumes: string[];
  /** Bytes written to the backup directory: image archives (when saved), writable layers, volume archives (when archived). */
  backupBytes: number;
  /**
   * The daemon's scratch while images load from their archives: it unpacks each whole archive
   * under its data-root's tmp before it applies the layers, and the run loads
   * IMAGE_LOADS_AT_ONCE at a time, so the largest that many archives; 0 when none are saved.
   */
  loadScratchBytes: number;
  /** Bytes the new data-root needs: image layers and writable layers (overlay2 target), volumes, and the loads' scratch. */
  dataRootBytes: number;
  /** What stands in for a size the daemon did not measure (each a sentence); empty when all were measured. */
  fallbacks: string[];
}

export interface Analysis {
  facts: PreflightFacts;
  options: PreflightOptions;
  daemon: DaemonFacts;
  inventory: Inventory;
  host: HostFacts;
  daemonJson: { path: string; present: boolean; parse?: DaemonJsonParse; storage: DaemonJsonStorage };
  service: ServiceCommand;
  places: FlagPlace[];
  runningVersion?: Version;
  installedVersion?: Version;
  pool?: PoolState;
  /** Where a storage driver is named explicitly (daemon.json or an active flag). */
  explicitDriver?: { driver: string; where: string };
  /** devicemapper is named in daemon.json or an active flag, or in use. */
  devicemapperConfigured: boolean;
  /** The driver the daemon runs already is the target (and there is nothing to migrate). */
  alreadyOnTarget: boolean;
  kernelRelease?: string;
  estimate: SizeEstimate;
  /** The daemon did not answer: only the host's facts are real (facts.daemonDown says why). */
  daemonDown: boolean;
  /**
   * A populated devicemapper/ under the data-root of a daemon that runs another driver: the
   * images and containers of a devicemapper daemon, which this daemon does not see.
   */
  strandedDevicemapper?: DevicemapperDirFact;
}

/** Computes everything the checks share. */
export function analyse(facts: PreflightFacts, options: PreflightOptions): Analysis {
  const { daemon, inventory } = facts.docker;
  const host = facts.host;
  const daemonJsonText = host.daemonJson.text;
  const parse = daemonJsonText === undefined ? undefined : parseDaemonJson(daemonJsonText);
  const storage = parse?.ok ? daemonJsonStorage(parse.value) : { storageOpts: [] };
  const service = serviceCommand(host.systemd.service);
  const places = flagPlaces(host, service);

  const activeDriverFlag = places
    .filter((p) => p.active)
    .flatMap((p) => p.flags.filter((f) => f.setting === 'storage-driver').map((f) => ({ f, p })))
    .at(-1);
  let explicitDriver: Analysis['explicitDriver'];
  if (storage.storageDriver) explicitDriver = { driver: storage.storageDriver, where: host.daemonJson.path };
  else if (activeDriverFlag) explicitDriver = { driver: activeDriverFlag.f.value, where: describePlace(activeDriverFlag.p) };

  const devicemapperConfigured =
    daemon.driver === 'devicemapper' ||
    storage.storageDriver === 'devicemapper' ||
    places.some((p) => p.active && p.flags.some((f) => f.setting === 'storage-driver' && f.value === 'devicemapper'));

  const daemonDown = facts.daemonDown !== undefined;
  const alreadyOnTarget =
    options.target === 'overlay2' ? daemon.driver === 'overlay2' : false; // a new direct-lvm pool is always a move
  const dm = host.dataRoot.devicemapper;
  const strandedDevicemapper =
    !daemonDown && daemon.driver !== 'devicemapper' && dm && (dm.metadataCount > 0 || dm.poolFiles.length > 0) ? dm : undefined;

  return {
    facts,
    options,
    daemon,
    inventory,
    host,
    daemonJson: { path: host.daemonJson.path, present: daemonJsonText !== undefined, parse, storage },
    service,
    places,
    runningVersion: parseVersion(daemon.serverVersion),
    installedVersion: host.installedDockerd ? parseVersion(host.installedDockerd.versionOutput) : undefined,
    pool: daemon.driver === 'devicemapper' ? poolState(daemon) : undefined,
    explicitDriver,
    devicemapperConfigured,
    alreadyOnTarget,
    kernelRelease: host.kernel.release ?? (daemon.kernelVersion || undefined),
    estimate: estimateSizes(inventory, options),
    daemonDown,
    ...(strandedDevicemapper ? { strandedDevicemapper } : {}),
  };
}

/** "file:line (VARIABLE)" or "the running dockerd (pid N)". */
export function describePlace(place: FlagPlace): string {
  if (place.kind === 'cmdline') return `the running dockerd's command line (${place.path})`;
  const at = place.line ? `${place.path}:${place.line}` : place.path;
  return place.variable ? `${at} (${place.variable})` : at;
}

function flagPlaces(host: HostFacts, service: ServiceCommand): FlagPlace[] {
  const places: FlagPlace[] = [];
  const used = new Set(service.execStart ? referencedVariables(service.execStart) : []);
  const usedFiles = new Set(service.environmentFiles.map((f) => f.path));

  if (service.execStart && service.source) {
    // Literal flags only: variables expand to nothing here and are reported where they are set.
    const argv = execStartArgv(service.execStart, {});
    const flags = parseDockerdArgs(dockerdArgsOf(argv)).storageFlags;
    const file = host.systemd.service.find((f) => f.path === service.source!.path);
    if (flags.length > 0) {
      places.push({
        kind: file?.kind === 'drop-in' ? 'systemd-drop-in' : 'systemd-unit',
        path: service.source.path,
        line: service.source.line,
        active: true,
        flags,
      });
    }
  }
  for (const file of host.systemd.service) {
    for (const d of parseUnitFile(file.text)) {
      if (d.section !== 'Service' || d.key !== 'Environment') continue;
      for (const word of wordsOf(d.value, 'systemd')) {
        const eq = word.indexOf('=');
        if (eq <= 0) continue;
        const variable = word.slice(0, eq);
        const flags = storageFlagsInOptions(word.slice(eq + 1));
        if (flags.length === 0) continue;
        places.push({
          kind: file.kind === 'drop-in' ? 'systemd-drop-in' : 'systemd-unit',
          path: file.path,
          line: d.line,
          variable,
          active: used.has(variable) && service.environment[variable] === word.slice(eq + 1),
          flags,
        });
      }
    }
  }
  // The value a variable ends up with: later EnvironmentFile= entries override earlier ones.
  const finalValue = new Map<string, string>();
  for (const file of service.environmentFiles) {
    const text = host.environmentFiles.find((f) => f.path === file.path)?.text;
    if (text !== undefined) for (const [k, v] of Object.entries(environmentOf(parseEnvironmentFile(text)))) finalValue.set(k, v);
  }
  for (const file of host.environmentFiles) {
    if (file.text === undefined || file.path.endsWith('/docker-storage-setup')) continue;
    for (const assignment of parseEnvironmentFile(file.text)) {
      const flags = storageFlagsInOptions(assignment.value);
      if (flags.length === 0) continue;
      places.push({
        kind: 'environment-file',
        path: file.path,
        line: assignment.line,
        variable: assignment.name,
        active:
          usedFiles.has(file.path) && used.has(assignment.name) && finalValue.get(assignment.name) === assignment.value,
        flags,
      });
    }
  }
  if (host.dockerd) {
    const flags = parseDockerdArgs(dockerdArgsOf(host.dockerd.argv)).storageFlags;
    if (flags.length > 0) {
      places.push({ kind: 'cmdline', path: `/proc/${host.dockerd.pid}/cmdline`, active: true, flags });
    }
  }
  return places;
}

/** "20.10.24+dfsg1" or "Docker version 17.03.2-ce, build f5ec1e2" → major and minor. */
export function parseVersion(text: string): Version | undefined {
  const match = /(\d+)\.(\d+)(?:\.\d+)?[^\s,]*/.exec(text);
  if (!match) return undefined;
  return { raw: match[0], major: Number(match[1]), minor: Number(match[2]) };
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

/** A size as `docker info` prints it ("11.8 MB", "10.74GB", "2 GiB") in bytes. */
export function parseHumanSize(text: string | undefined): number | undefined {
  const match = /^\s*([\d.]+)\s*([kKMGTP]?i?B)?\s*$/.exec(text ?? '');
  if (!match) return undefined;
  const factor = SIZE_UNITS[(match[2] ?? 'b').toLowerCase()];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

/** The devicemapper pool as DriverStatus describes it. */
export function poolState(daemon: DaemonFacts): PoolState {
  const status = new Map(daemon.driverStatus);
  const files: Record<string, string> = {};
  for (const key of ['Data file', 'Metadata file', 'Data loop file', 'Metadata loop file']) {
    const value = status.get(key);
    if (value) files[key] = value;
  }
  return {
    mode: status.get('Data loop file') ? 'loop-lvm' : 'direct-lvm',
    poolName: status.get('Pool Name') || undefined,
    dataUsed: parseHumanSize(status.get('Data Space Used')),
    dataTotal: parseHumanSize(status.get('Data Space Total')),
    dataAvailable: parseHumanSize(status.get('Data Space Available')),
    metadataUsed: parseHumanSize(status.get('Metadata Space Used')),
    metadataTotal: parseHumanSize(status.get('Metadata Space Total')),
    metadataAvailable: parseHumanSize(status.get('Metadata Space Available')),
    minFree: parseHumanSize(status.get('Thin Pool Minimum Free Space')),
    files,
  };
}

/** VG and LV of a device-mapper name ("docker--vg-thin--pool" → docker-vg, thin-pool). */
export function splitDmName(name: string): { vg: string; lv: string } | undefined {
  const match = /^((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(name);
  if (!match) return undefined;
  return { vg: match[1]!.replace(/--/g, '-'), lv: match[2]!.replace(/--/g, '-') };
}

/** Sizes of what the run carries, from the inventory. */
export function estimateSizes(inventory: Inventory, options: PreflightOptions): SizeEstimate {
  const images = new Map(inventory.images.map((i) => [i.id, i.size]));
  const imagesBytes = [...images.values()].reduce((a, b) => a + Math.max(0, b), 0);
  const why = inventory.sizesNotMeasured ?? 'the daemon did not report them';
  const fallbacks: string[] = [];
  let layersBytes = imagesBytes;
  if (inventory.layersSize !== undefined) layersBytes = inventory.layersSize;
  else if (imagesBytes > 0) {
    fallbacks.push(`Image layers were not measured (${why}): the sum of image sizes stands in, which counts a shared layer once per image (an upper bound).`);
  }
  let writableBytes = inventory.containers.reduce((a, c) => a + Math.max(0, c.sizeRw), 0);
  const unmeasured = inventory.containers.filter((c) => c.sizeRw < 0);
  if (unmeasured.length > 0) {
    const pool = inventory.daemon.driver === 'devicemapper' ? poolState(inventory.daemon) : undefined;
    const what = `Writable layers of ${unmeasured.length} container${unmeasured.length === 1 ? '' : 's'} were not measured (${why})`;
    if (pool?.dataUsed !== undefined) {
      const rest = Math.max(0, pool.dataUsed - layersBytes);
      writableBytes += rest;
      fallbacks.push(`${what}: estimated as the thin pool's used data space less the image layers, ${formatBytes(rest)}.`);
    } else {
      fallbacks.push(`${what}: they are not counted.`);
    }
  }
  const local = inventory.volumes.filter((v) => !v.remote && v.driver === 'local');
  const volumesBytes = local.reduce((a, v) => a + Math.max(0, v.size), 0);
  const backupBytes = (options.saveImages ? imagesBytes : 0) + writableBytes + (options.archiveVolumes ? volumesBytes : 0);
  const largestFirst = [...images.values()].map((size) => Math.max(0, size)).sort((a, b) => b - a);
  const loadScratchBytes = options.saveImages ? largestFirst.slice(0, IMAGE_LOADS_AT_ONCE).reduce((a, b) => a + b, 0) : 0;
  const dataRootBytes = (options.target === 'overlay2' ? layersBytes + writableBytes : 0) + volumesBytes + loadScratchBytes;
  return {
    imageCount: images.size,
    imagesBytes,
    layersBytes,
    containerCount: inventory.containers.length,
    runningCount: inventory.containers.filter((c) => c.running).length,
    writableBytes,
    volumeCount: local.length,
    volumesBytes,
    unknownSizeVolumes: local.filter((v) => v.size < 0).map((v) => v.name),
    backupBytes,
    loadScratchBytes,
    dataRootBytes,
    fallbacks,
  };
}
