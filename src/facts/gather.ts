/**
 * Effectful half of preflight: reads the host (through `Host`) into a plain HostFacts object.
 * Every probe is independent: one that fails is recorded in `problems` and its facts stay
 * unknown, so that one unreadable file does not hide the rest of the report.
 */
import path from 'node:path';
import { execStartArgv, serviceCommand } from '../config/dockerd-flags.js';
import type { DaemonFacts, Inventory } from '../docker/types.js';
import { fsTypeName } from '../host/fs-magic.js';
import type { Host } from '../host/host.js';
import { deviceHolders } from './device-identity.js';
import { findServingDockerd, listDockerds } from './dockerd-process.js';
import {
  flattenBlockDevice,
  LVM_TOOLS,
  mountOf,
  parseBlkidExport,
  parseLsblkJson,
  parseLsblkPairs,
  parseMounts,
  LVS_FIELDS,
  lvsFromRows,
  PVS_FIELDS,
  pvsFromRows,
  VGS_FIELDS,
  vgsFromRows,
  type LvmRow,
} from './parse.js';
import { LvmReporter } from './lvm-report.js';
import { redactSecrets } from './redact.js';
import type {
  DataRootFact,
  DevicemapperDirFact,
  DTypeFact,
  FileFact,
  FilesystemFact,
  HostFacts,
  InstalledDockerd,
  JournalFact,
  LvmFacts,
  MountFact,
  PreflightFacts,
  SystemdFacts,
  TargetDeviceFact,
  UnitFileFact,
} from './types.js';

export interface GatherOptions {
  /** The Docker API address the tool talks to (-H of the dockerd to look for). */
  dockerHost: string;
  /** --daemon-config. */
  daemonConfigPath: string;
  /** The daemon's data-root (DockerRootDir). */
  dataRoot: string;
  /** Where archives will be written. */
  backupDirectory: string;
  /** --state-dir: where the run's state file and journal live. */
  stateDirectory?: string;
  /** The direct-lvm target device, when that is the target. */
  targetDevice?: string;
}

/** Files where RHEL, CentOS, Debian and Ubuntu packages keep dockerd's options. */
export const ENVIRONMENT_FILES = [
  '/etc/sysconfig/docker',
  '/etc/sysconfig/docker-storage',
  '/etc/sysconfig/docker-storage-setup',
  '/etc/sysconfig/docker-network',
  '/etc/default/docker',
];

/** systemd's unit search path for system units, highest priority first. */
export const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

/** Storage-driver directories dockerd looks for under its data-root to pick a prior driver. */
export const DRIVER_DIRS = ['aufs', 'btrfs', 'devicemapper', 'fuse-overlayfs', 'overlay', 'overlay2', 'vfs', 'zfs'];


const RUN = { env: { LC_ALL: 'C' }, timeoutMs: 30_000 };

type Problems = HostFacts['problems'];

async function probe<T>(problems: Problems, name: string, fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    problems.push({ probe: name, message: (error as Error)?.message ?? String(error) });
    return fallback;
  }
}

/** Everything preflight needs: Docker's facts (already read from the API) and the host's. */
export async function gatherPreflightFacts(
  host: Host,
  docker: { daemon: DaemonFacts; inventory: Inventory },
  options: Omit<GatherOptions, 'dataRoot'>,
): Promise<PreflightFacts> {
  const hostFacts = await gatherHostFacts(host, { ...options, dataRoot: docker.daemon.dockerRootDir });
  return { collectedAt: new Date().toISOString(), docker, host: hostFacts };
}

/** Reads the host's configuration, dockerd process, kernel, filesystems, LVM and target device. */
export async function gatherHostFacts(host: Host, options: GatherOptions): Promise<HostFacts> {
  const problems: Problems = [];
  const daemonJson = await probe(problems, 'daemon.json', { path: options.daemonConfigPath }, () =>
    readFileFact(host, options.daemonConfigPath),
  );
  const systemd = await probe<SystemdFacts>(problems, 'systemd units', { service: [], socket: [], storageSetupUnits: [] }, () =>
    readSystemd(host),
  );
  const environmentFiles = await probe<FileFact[]>(problems, 'environment files', [], () => readEnvironmentFiles(host, systemd));
  const dockerdCandidates = await probe(problems, 'dockerd processes', [], () => listDockerds(host));
  const dockerd = await probe(problems, 'dockerd process', undefined, () =>
    findServingDockerd(host, options.dockerHost, dockerdCandidates, systemd.socket),
  );
  const installedDockerd = await probe(problems, 'dockerd --version', undefined, () =>
    readInstalledDockerd(host, systemd, dockerd?.argv[0]),
  );
  const kernel = await probe(problems, 'kernel', { overlayAvailable: false, overlayEvidence: 'not checked' }, () =>
    readKernel(host),
  );
  const mounts = await probe<MountFact[]>(problems, '/proc/mounts', [], async () =>
    parseMounts((await host.readFile('/proc/mounts')) ?? (await host.readFile('/proc/self/mounts')) ?? ''),
  );
  const dataRootFs = await probe<FilesystemFact>(problems, 'data-root filesystem', { path: options.dataRoot, exists: false }, () =>
    readFilesystem(host, options.dataRoot, mounts),
  );
  const dataRoot: DataRootFact = {
    ...dataRootFs,
    dType: await probe<DTypeFact>(problems, 'd_type', { method: 'none', evidence: 'probe failed' }, () =>
      readDType(host, dataRootFs),
    ),
    driverDirs: await probe(problems, 'data-root driver directories', [], () => readDriverDirs(host, options.dataRoot)),
  };
  if (dataRoot.driverDirs.includes('devicemapper')) {
    const devicemapper = await probe(problems, 'data-root devicemapper directory', undefined, () => readDevicemapperDir(host, options.dataRoot));
    if (devicemapper) dataRoot.devicemapper = devicemapper;
  }
  const backupDirectory = await probe<FilesystemFact>(
    problems,
    'backup directory filesystem',
    { path: options.backupDirectory, exists: false },
    () => readFilesystem(host, options.backupDirectory, mounts),
  );
  const stateDirectory = options.stateDirectory
    ? await probe<FilesystemFact>(problems, 'state directory filesystem', { path: options.stateDirectory, exists: false }, () =>
        readFilesystem(host, options.stateDirectory!, mounts),
      )
    : undefined;
  const lvm = await readLvm(host, problems);
  const targetDevice = options.targetDevice
    ? await probe<TargetDeviceFact | undefined>(problems, 'target device', undefined, () =>
        readTargetDevice(host, options.targetDevice!, mounts, problems),
      )
    : undefined;
  return {
    dockerHost: options.dockerHost,
    daemonJson,
    systemd,
    environmentFiles,
    dockerd,
    dockerdCandidates,
    installedDockerd,
    kernel,
    dataRoot,
    backupDirectory,
    ...(stateDirectory ? { stateDirectory } : {}),
    lvm,
    targetDevice,
    problems,
  };
}

/** A configuration file with credentials masked (masking never adds or removes a line). */
async function readFileFact(host: Host, filePath: string): Promise<FileFact> {
  const text = await host.readFile(filePath);
  return text === undefined ? { path: filePath } : { path: filePath, text: redactSecrets(text) };
}

/** A unit file and its drop-ins, as systemd would merge them. */
export async function readUnit(host: Host, unit: string): Promise<UnitFileFact[]> {
  const files: UnitFileFact[] = [];
  for (const dir of UNIT_DIRS) {
    const text = await host.readFile(`${dir}/${unit}`);
    if (text !== undefined) {
      files.push({ path: `${dir}/${unit}`, kind: 'unit', text: redactSecrets(text) });
      break;
    }
  }
  const dropIns = new Map<string, string>();
  for (const dir of UNIT_DIRS) {
    for (const name of (await host.listDir(`${dir}/${unit}.d`)) ?? []) {
      if (name.endsWith('.conf') && !dropIns.has(name)) dropIns.set(name, `${dir}/${unit}.d/${name}`);
    }
  }
  for (const name of [...dropIns.keys()].sort()) {
    const filePath = dropIns.get(name)!;
    const text = await host.readFile(filePath);
    if (text !== undefined) files.push({ path: filePath, kind: 'drop-in', text: redactSecrets(text) });
  }
  return files;
}

async function readSystemd(host: Host): Promise<SystemdFacts> {
  const storageSetupUnits: string[] = [];
  for (const unit of ['docker-storage-setup.service', 'container-storage-setup.service']) {
    for (const dir of UNIT_DIRS) {
      if ((await host.stat(`${dir}/${unit}`)) !== undefined) {
        storageSetupUnits.push(`${dir}/${unit}`);
        break;
      }
    }
  }
  return {
    service: await readUnit(host, 'docker.service'),
    socket: await readUnit(host, 'docker.socket'),
    storageSetupUnits,
  };
}

async function readEnvironmentFiles(host: Host, systemd: SystemdFacts): Promise<FileFact[]> {
  const paths = [...ENVIRONMENT_FILES];
  for (const file of serviceCommand(systemd.service).environmentFiles) {
    if (!paths.includes(file.path) && path.isAbsolute(file.path)) paths.push(file.path);
  }
  const result: FileFact[] = [];
  for (const filePath of paths) {
    const text = await host.readFile(filePath);
    result.push(text === undefined ? { path: filePath } : { path: filePath, text: redactSecrets(text) });
  }
  return result;
}

/**
 * The dockerd binary that the next start would run: docker.service's ExecStart program, else
 * the running one's, else dockerd on PATH. A package upgraded to Engine v25 but not yet
 * restarted shows here while the API still reports the old version.
 */
async function readInstalledDockerd(
  host: Host,
  systemd: SystemdFacts,
  runningProgram: string | undefined,
): Promise<InstalledDockerd | undefined> {
  const command = serviceCommand(systemd.service);
  const fromUnit = command.execStart ? execStartArgv(command.execStart, {})[0] : undefined;
  const candidates = [fromUnit, runningProgram, 'dockerd'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    const resolved = await host.which(candidate);
    if (!resolved) continue;
    const result = await host.run(resolved, ['--version'], RUN);
    if (result.exitCode === 0 && result.stdout.trim() !== '') return { path: resolved, versionOutput: result.stdout.trim() };
  }
  return undefined;
}

async function readKernel(host: Host): Promise<HostFacts['kernel']> {
  const release = (await host.readFile('/proc/sys/kernel/osrelease'))?.trim() || undefined;
  const filesystems = (await host.readFile('/proc/filesystems')) ?? '';
  if (/\boverlay$/m.test(filesystems)) return { release, overlayAvailable: true, overlayEvidence: '/proc/filesystems lists overlay' };
  if (release) {
    const dir = `/lib/modules/${release}/kernel/fs/overlayfs`;
    const modules = (await host.listDir(dir)) ?? [];
    const module = modules.find((m) => m.startsWith('overlay.ko'));
    if (module) return { release, overlayAvailable: true, overlayEvidence: `module ${dir}/${module}` };
  }
  return {
    release,
    overlayAvailable: false,
    overlayEvidence: 'overlay is neither in /proc/filesystems nor a module under /lib/modules',
  };
}

/** The filesystem holding a directory, or its nearest existing parent when it does not exist yet. */
async function readFilesystem(host: Host, dir: string, mounts: readonly MountFact[]): Promise<FilesystemFact> {
  let existing = path.posix.normalize(dir);
  let exists = true;
  while ((await host.stat(existing)) === undefined && existing !== '/') {
    existing = path.posix.dirname(existing);
    exists = false;
  }
  const resolvedPath = (await host.realpath(existing)) ?? existing;
  const mount = mountOf(mounts, resolvedPath);
  const space = await host.statfs(existing);
  const stat = await host.stat(resolvedPath);
  return {
    path: dir,
    resolvedPath,
    realPath: path.posix.join(resolvedPath, path.posix.relative(existing, path.posix.normalize(dir))),
    exists,
    mount,
    fsType: mount?.fsType ?? (space ? fsTypeName(space.type) : undefined),
    space,
    device: stat?.dev,
  };
}

/**
 * Whether the data-root's filesystem gives d_type in directory entries (overlay2 needs it).
 * Node cannot probe it directly: its readdir quietly falls back to lstat when the kernel
 * reports DT_UNKNOWN. So xfs is asked through xfs_info (ftype), ext2/3/4 through tune2fs
 * (the filetype feature), and other filesystems are judged by type.
 */
async function readDType(host: Host, fs: FilesystemFact): Promise<DTypeFact> {
  const type = fs.fsType ?? '';
  if (type === 'xfs') {
    const target = fs.mount?.mountPoint ?? fs.resolvedPath ?? fs.path;
    const result = await host.run('xfs_info', [target], RUN);
    if (result.exitCode !== 0) {
      return { method: 'xfs_info', evidence: `xfs_info ${target} failed (exit ${result.exitCode}): ${firstLine(result.stderr)}` };
    }
    const line = result.stdout.split('\n').find((l) => /ftype=\d/.test(l));
    const ftype = /ftype=(\d)/.exec(line ?? '')?.[1];
    if (ftype === undefined) {
      return { method: 'xfs_info', evidence: `xfs_info ${target} does not show ftype (xfsprogs older than 3.2?)` };
    }
    return { supported: ftype === '1', method: 'xfs_info', evidence: line!.trim().replace(/\s+/g, ' '), xfsFtype: Number(ftype) };
  }
  if (/^ext[234]$/.test(type)) {
    const device = fs.mount?.device;
    const result = device ? await host.run('tune2fs', ['-l', device], RUN) : undefined;
    const line = result?.exitCode === 0 ? result.stdout.split('\n').find((l) => l.startsWith('Filesystem features:')) : undefined;
    if (line) return { supported: /\bfiletype\b/.test(line), method: 'tune2fs', evidence: line.replace(/\s+/g, ' ').trim() };
    // ext filesystems have had the filetype feature by default since e2fsprogs 1.x: assume it.
    // tune2fs's own words ("tune2fs: Operation not permitted while trying to open ...") read
    // like a failure of preflight; say what it means instead.
    return {
      supported: true,
      method: 'filesystem-type',
      evidence: `${type} has d_type unless it was created without the filetype feature${result ? ` (not confirmed: tune2fs could not read ${device}${tune2fsReason(result.stderr)})` : ''}`,
    };
  }
  if (['btrfs', 'tmpfs', 'f2fs', 'zfs', 'overlay', 'aufs', 'ramfs'].includes(type)) {
    return { supported: true, method: 'filesystem-type', evidence: `${type} always reports d_type` };
  }
  return { method: 'none', evidence: type ? `no d_type check for ${type}` : 'filesystem type unknown' };
}

async function readDriverDirs(host: Host, dataRoot: string): Promise<string[]> {
  const entries = (await host.listDir(dataRoot)) ?? [];
  const found: string[] = [];
  for (const name of DRIVER_DIRS) {
    if (!entries.includes(name)) continue;
    // dockerd only counts a driver directory that holds something.
    if (((await host.listDir(`${dataRoot}/${name}`)) ?? []).length > 0) found.push(name);
  }
  return found;
}

/** dockerd's words when it stops at start: Engine 17.x-22.x "Error starting daemon: ...", later "failed to start daemon: ...". */
const START_FAILURE = /failed to start daemon|Error starting daemon|level=fatal/;

/**
 * The last reason dockerd gave in the journal for not starting. `-o cat` leaves the message
 * alone; systemd 219 (RHEL/CentOS 7) knows every option used here.
 */
export async function readJournal(host: Host): Promise<JournalFact> {
  const result = await host.run('journalctl', ['-u', 'docker.service', '--no-pager', '-o', 'cat', '-n', '300'], RUN);
  if (result.exitCode !== 0) return { read: false };
  const lines = result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const lastError = [...lines].reverse().find((l) => START_FAILURE.test(l));
  return lastError ? { read: true, lastError } : { read: true };
}

async function readDevicemapperDir(host: Host, dataRoot: string): Promise<DevicemapperDirFact> {
  const metadata = ((await host.listDir(`${dataRoot}/devicemapper/metadata`)) ?? []).sort();
  return {
    metadataFiles: metadata.slice(0, 20),
    metadataCount: metadata.length,
    poolFiles: ((await host.listDir(`${dataRoot}/devicemapper/devicemapper`)) ?? []).sort(),
  };
}

async function readLvm(host: Host, problems: Problems): Promise<LvmFacts> {
  const tools: Record<string, string | null> = {};
  for (const tool of LVM_TOOLS) tools[tool] = (await host.which(tool)) ?? null;
  const facts: LvmFacts = { tools };
  const reporter = new LvmReporter(host, RUN);
  const report = async <T>(tool: string, kind: string, fields: readonly string[], toFacts: (rows: LvmRow[]) => T, extra: string[] = []): Promise<T | undefined> => {
    if (!tools[tool]) return undefined;
    const result = await reporter.report(tool, kind, fields, extra);
    if (!result.ok) {
      problems.push({ probe: tool, message: result.message });
      return undefined;
    }
    facts.reportFormat = result.format;
    return toFacts(result.rows);
  };
  facts.lvs = await report('lvs', 'lv', LVS_FIELDS, lvsFromRows, ['-a']);
  facts.vgs = await report('vgs', 'vg', VGS_FIELDS, vgsFromRows);
  facts.pvs = await report('pvs', 'pv', PVS_FIELDS, pvsFromRows);
  return facts;
}

async function readTargetDevice(
  host: Host,
  device: string,
  mounts: readonly MountFact[],
  problems: Problems,
): Promise<TargetDeviceFact> {
  const resolvedPath = await host.realpath(device);
  const stat = resolvedPath ? await host.stat(resolvedPath) : undefined;
  const fact: TargetDeviceFact = {
    path: device,
    resolvedPath,
    exists: stat !== undefined,
    isBlockDevice: stat !== undefined && stat.kind === 'other' && (stat.mode & 0o170000) === 0o060000,
    mountedAt: [],
  };
  if (!fact.exists) return fact;
  const name = resolvedPath ?? device;

  const json = await host.run('lsblk', ['--json', '-b', '-p', '-o', 'NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT', name], RUN);
  if (json.exitCode === 0) fact.lsblk = parseLsblkJson(json.stdout);
  else if (await host.which('lsblk')) {
    const pairs = await host.run('lsblk', ['-P', '-b', '-p', '-o', 'NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT', name], RUN);
    if (pairs.exitCode === 0) fact.lsblk = parseLsblkPairs(pairs.stdout);
    else problems.push({ probe: 'lsblk', message: `lsblk ${name} failed (exit ${pairs.exitCode}): ${firstLine(pairs.stderr)}` });
  }

  const names = new Set([device, name, ...(fact.lsblk ? flattenBlockDevice(fact.lsblk).map((n) => n.name) : [])]);
  const mounted = new Set<string>();
  for (const m of mounts) if (names.has(m.device)) mounted.add(m.mountPoint);
  for (const node of fact.lsblk ? flattenBlockDevice(fact.lsblk) : []) {
    if (node.mountPoint) mounted.add(node.mountPoint === '[SWAP]' ? `swap (${node.name})` : node.mountPoint);
  }
  const swaps = (await host.readFile('/proc/swaps')) ?? '';
  for (const line of swaps.split('\n').slice(1)) {
    const swapDevice = line.trim().split(/\s+/)[0];
    if (swapDevice && names.has(swapDevice)) mounted.add(`swap (${swapDevice})`);
  }
  fact.mountedAt = [...mounted];
  const { holders } = await deviceHolders(host, path.posix.basename(name));
  fact.heldBy = holders.map((h) => `${h.device} held by ${h.holders.join(', ')}`);

  const blkid = await host.run('blkid', ['-p', '-o', 'export', name], RUN);
  // blkid exits 2 when it finds no signature at all.
  if (blkid.exitCode === 0) fact.signatures = parseBlkidExport(blkid.stdout);
  else if (blkid.exitCode === 2) fact.signatures = [];
  else problems.push({ probe: 'blkid', message: `blkid -p ${name} failed (exit ${blkid.exitCode}): ${firstLine(blkid.stderr)}` });
  return fact;
}

/** "tune2fs: Operation not permitted while trying to open /dev/vda" → ": operation not permitted". */
function tune2fsReason(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('tune2fs: '));
  const reason = line?.slice('tune2fs: '.length).replace(/ while trying to open .*$/, '').trim();
  return reason ? `: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}` : '';
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
