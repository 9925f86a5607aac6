// The performance benchmark of issue 9, on the integration rig (a private vfs dockerd migrated
// to overlay2), in one run. For each data size (a smaller and a larger one):
//   1. a workload is built offline: images with layers of random (incompressible) data,
//      volumes holding many files, one running container per image using one volume each;
//   2. `devmapper-migrate run --answers --yes` migrates it, under /usr/bin/time (peak RSS);
//      run.log's step lines give the save time and the containers' downtime (stop-containers
//      started -> start-containers done), its "Loading image"/"Restored" lines the load time
//      (the loads alone, not the staging dockerd's start and stop around them);
//   3. at the smaller size, the same workload is built again and migrated by the scripted
//      manual runbook (docker save -o each image, docker stop, stop dockerd, move the data-root
//      aside, edit daemon.json, carry the volumes directory by rename, start, docker load -i
//      each, docker run each container again): its own save/load times and downtime.
//   4. a stubborn workload: four containers whose PID 1 ignores SIGTERM, each with a 10 s stop
//      timeout, migrated by the tool (its downtime is bounded by the parallel stop waves).
// The tool runs with the V8 flags of the release's launcher (packaging/launcher.sh).
// Every figure is printed with its target (issue 20) and pass/miss; --json writes them too.
// Then volume archive/restore against GNU tar (scripts/bench-archive.mjs) and a `dd` with
// conv=fdatasync of the image data's size. Prints a table; --json FILE writes the figures.
// Everything started here is torn down at the end, also on failure and on Ctrl-C.
//
//   npm run bench -- [--small 1024,1024] [--large 1024,4096] [--dir /var/tmp] [--json out.json]
//                     (sizes: image MB,volume MB) [--skip-manual] [--skip-archive] [--skip-stubborn]
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BASE_IMAGE, DIST, REPO_ROOT, docker, dockerWith, ensureDist, rigRuntimeEnv, run, seedBaseImage, startDockerd, type DaemonHandle } from '../rig/index.js';

interface Size {
  label: 'small' | 'large';
  imagesMb: number;
  volumesMb: number;
}

const IMAGE_LAYER_MB = 64;
const LAYERS_PER_IMAGE = 2;
const FILE_MB = 1;
const SMALL_FILES_PER_VOLUME = 500;
// A PID 1 that honours SIGTERM, so that `docker stop` does not wait out its 10 s grace period.
const APP_CMD = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];
// The stubborn workload (issue 20): PID 1s that ignore SIGTERM, so each stop waits out the
// container's own stop timeout and ends in SIGKILL.
const STUBBORN_CMD = ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done'];
const STUBBORN_CONTAINERS = 4;
const STUBBORN_STOP_TIMEOUT_S = 10;

/**
 * The V8 flags the release's launcher gives node (packaging/launcher.sh, the one place they are
 * written), so that the bench measures the tool as it runs on a host.
 */
function launcherNodeFlags(): string[] {
  const launcher = readFileSync(path.join(REPO_ROOT, 'packaging', 'launcher.sh'), 'utf8');
  const exec = /^exec "\$top\/runtime\/bin\/node" (.*?)"\$top\/lib\//m.exec(launcher);
  if (!exec) throw new Error('packaging/launcher.sh: no `exec "$top/runtime/bin/node" ...` line to take the flags from');
  return exec[1]!.trim().split(/\s+/).filter(Boolean);
}

const cleanups: (() => Promise<void> | void)[] = [];
let tearingDown: Promise<void> | undefined;

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`bench: cleanup failed: ${(error as Error).message}`);
      }
    }
  })();
  return tearingDown;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, tearing down`);
    void teardown().finally(() => process.exit(130));
  });
}

function parseSize(label: Size['label'], text: string): Size {
  const [imagesMb, volumesMb] = text.split(',').map(Number);
  if (!imagesMb || !volumesMb) throw new Error(`--${label} wants "imageMB,volumeMB", got "${text}"`);
  return { label, imagesMb, volumesMb };
}

function options() {
  const { values } = parseArgs({
    options: {
      small: { type: 'string', default: '1024,1024' },
      large: { type: 'string', default: '1024,4096' },
      dir: { type: 'string', default: '/var/tmp' },
      json: { type: 'string' },
      'skip-manual': { type: 'boolean', default: false },
      'skip-archive': { type: 'boolean', default: false },
      'skip-stubborn': { type: 'boolean', default: false },
    },
  });
  return {
    sizes: [parseSize('small', values.small!), parseSize('large', values.large!)],
    dir: values.dir!,
    json: values.json,
    manual: !values['skip-manual'],
    archive: !values['skip-archive'],
    stubborn: !values['skip-stubborn'],
  };
}

const log = (text: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Workload

interface Workload {
  images: string[];
  volumes: string[];
  containers: { name: string; image: string; volume?: string; command?: string[]; stopTimeoutSeconds?: number }[];
  imageBytes: number;
  volumeBytes: number;
}

function imageCount(size: Size): number {
  return Math.max(1, Math.round(size.imagesMb / (IMAGE_LAYER_MB * LAYERS_PER_IMAGE)));
}

async function buildWorkload(daemon: DaemonHandle, size: Size, work: string): Promise<Workload> {
  await seedBaseImage(daemon);
  const count = imageCount(size);
  const workload: Workload = { images: [], volumes: [], containers: [], imageBytes: 0, volumeBytes: 0 };
  const layer = Buffer.allocUnsafe(IMAGE_LAYER_MB << 20);
  for (let i = 0; i < count; i++) {
    const context = path.join(work, `context-${i}`);
    mkdirSync(context, { recursive: true });
    const lines = [`FROM ${BASE_IMAGE}`];
    for (let l = 0; l < LAYERS_PER_IMAGE; l++) {
      randomFillSync(layer);
      writeFileSync(path.join(context, `layer-${l}.bin`), layer);
      lines.push(`COPY layer-${l}.bin /payload/layer-${l}.bin`);
    }
    writeFileSync(path.join(context, 'Dockerfile'), lines.join('\n') + '\n');
    const tag = `bench/app-${i}:1`;
    await dockerWith(daemon, ['build', '--quiet', '--tag', tag, context], { timeoutMs: 900_000 });
    rmSync(context, { recursive: true, force: true });
    workload.images.push(tag);
  }
  const volumeCount = count;
  const perVolumeFiles = Math.max(1, Math.round(size.volumesMb / FILE_MB / volumeCount));
  const file = Buffer.allocUnsafe(FILE_MB << 20);
  for (let v = 0; v < volumeCount; v++) {
    const name = `bench-vol-${v}`;
    await docker(daemon, 'volume', 'create', name);
    // Written straight into the volume's directory: far faster than through a container.
    const data = path.join(daemon.dataRoot, 'volumes', name, '_data');
    for (let f = 0; f < perVolumeFiles; f++) {
      const dir = path.join(data, `d${f % 20}`);
      if (f < 20) mkdirSync(dir, { recursive: true });
      randomFillSync(file);
      writeFileSync(path.join(dir, `f${f}.bin`), file);
      workload.volumeBytes += file.length;
    }
    for (let s = 0; s < SMALL_FILES_PER_VOLUME; s++) {
      const dir = path.join(data, 'small', `s${s % 10}`);
      if (s < 10) mkdirSync(dir, { recursive: true });
      const bytes = file.subarray(s, s + 512 + ((s * 7919) % 8192));
      writeFileSync(path.join(dir, `s${s}.dat`), bytes);
      workload.volumeBytes += bytes.length;
    }
    workload.volumes.push(name);
  }
  for (let i = 0; i < count; i++) {
    const container = { name: `bench-app-${i}`, image: workload.images[i]!, volume: workload.volumes[i]! };
    await runContainer(daemon, container);
    workload.containers.push(container);
  }
  workload.imageBytes = count * LAYERS_PER_IMAGE * (IMAGE_LAYER_MB << 20);
  return workload;
}

function runContainer(daemon: DaemonHandle, c: Workload['containers'][number]): Promise<string> {
  const volume = c.volume ? ['-v', `${c.volume}:/data`] : [];
  const stopTimeout = c.stopTimeoutSeconds === undefined ? [] : ['--stop-timeout', String(c.stopTimeoutSeconds)];
  return docker(daemon, 'run', '-d', '--name', c.name, '--restart', 'unless-stopped', ...volume, ...stopTimeout, c.image, ...(c.command ?? APP_CMD));
}

/** Four containers of the base image whose PID 1 ignores SIGTERM, each with a 10 s stop timeout. */
async function buildStubbornWorkload(daemon: DaemonHandle): Promise<Workload> {
  await seedBaseImage(daemon);
  const workload: Workload = { images: [BASE_IMAGE], volumes: [], containers: [], imageBytes: 0, volumeBytes: 0 };
  for (let i = 0; i < STUBBORN_CONTAINERS; i++) {
    const container = { name: `bench-stubborn-${i}`, image: BASE_IMAGE, command: STUBBORN_CMD, stopTimeoutSeconds: STUBBORN_STOP_TIMEOUT_S };
    await runContainer(daemon, container);
    workload.containers.push(container);
  }
  return workload;
}

async function runningCount(daemon: DaemonHandle): Promise<number> {
  const out = await docker(daemon, 'ps', '-q', '--filter', 'status=running');
  return out.split('\n').filter(Boolean).length;
}

async function freshDaemon(name: string): Promise<DaemonHandle> {
  const daemon = await startDockerd({ name, storageDriver: 'vfs' });
  cleanups.push(() => daemon.stop());
  return daemon;
}

// ---------------------------------------------------------------------------------------------
// The tool's run

interface ToolRun {
  totalSeconds: number;
  peakRssMb: number;
  saveSeconds: number;
  /** The image loads alone: first load's start to last load's end (loadSpan). */
  loadSeconds: number;
  /** The whole stage-images step (private dockerd start, loads, stop), when the run staged. */
  stageSeconds: number | undefined;
  downtimeSeconds: number;
  archiveBytes: number;
  steps: Record<string, number>;
}

/** Step start/end times from run.log lines "<ISO> step ID: started|done". */
function stepTimes(runLog: string): Map<string, { start: number; end?: number }> {
  const steps = new Map<string, { start: number; end?: number }>();
  for (const line of runLog.split('\n')) {
    const match = /^(\S+) step ([\w-]+): (started|done)/.exec(line);
    if (!match) continue;
    const [, time, id, what] = match;
    const at = Date.parse(time!);
    if (what === 'started') steps.set(id!, { start: at });
    else if (steps.has(id!)) steps.get(id!)!.end = at;
  }
  return steps;
}

/**
 * The image loads of step `id`, in seconds: from its first "Loading image …" line in run.log to
 * its last "Restored … in …" line, so the figure holds the loads (with their sha256 check, which
 * rides on the upload) and not the private dockerd's start and stop around them in stage-images.
 */
function loadSpan(runLog: string, id: string): number {
  let start: number | undefined;
  let end: number | undefined;
  for (const line of runLog.split('\n')) {
    const match = /^(\S+) \[[^\]]*\] ([\w-]+): (Loading image |Restored )/.exec(line);
    if (!match || match[2] !== id) continue;
    const at = Date.parse(match[1]!);
    if (match[3] === 'Loading image ') start ??= at;
    else end = at;
  }
  if (start === undefined || end === undefined) throw new Error(`run.log has no image load in step ${id}`);
  return (end - start) / 1000;
}

function span(steps: ReturnType<typeof stepTimes>, from: string, to: string): number {
  const start = steps.get(from)?.start;
  const end = steps.get(to)?.end;
  if (start === undefined || end === undefined) throw new Error(`run.log lacks step ${from} start or ${to} end`);
  return (end - start) / 1000;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size;
  }
  return total;
}

async function toolRun(daemon: DaemonHandle, workload: Workload, work: string): Promise<ToolRun> {
  const stateDir = path.join(work, 'state');
  const backup = path.join(work, 'backup');
  const answers = path.join(work, 'answers.yaml');
  writeFileSync(
    answers,
    [
      'target: overlay2',
      // Pre-staging on: the images are loaded before the stop (a host where it cannot work stops the bench).
      'staging: on',
      'volumes:',
      '  archive: false',
      'backup:',
      `  directory: ${backup}`,
      'service:',
      '  manager: command',
      `  stop: bash ${daemon.stopScript}`,
      `  start: bash ${daemon.startScript}`,
      '  timeoutSeconds: 300',
      '',
    ].join('\n'),
  );
  const timeFile = path.join(work, 'time.txt');
  const args = ['-f', '%M %e', '-o', timeFile, process.execPath, ...launcherNodeFlags(), DIST, '--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, 'run', '--answers', answers, '--yes'];
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', ...rigRuntimeEnv(args) };
  delete env.DOCKER_HOST;
  const result = await run('/usr/bin/time', args, { env, cwd: REPO_ROOT, timeoutMs: 3_600_000 });
  if (result.code !== 0) throw new Error(`devmapper-migrate run exited ${result.code}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  const [rssKb, elapsed] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  const runId = readFileSync(path.join(stateDir, 'current'), 'utf8').trim();
  const runLog = readFileSync(path.join(stateDir, 'runs', runId, 'run.log'), 'utf8');
  const steps = stepTimes(runLog);
  const running = await runningCount(daemon);
  if (running !== workload.containers.length) throw new Error(`after run, ${running} of ${workload.containers.length} containers run`);
  return {
    totalSeconds: elapsed!,
    peakRssMb: Math.round(rssKb! / 1024),
    saveSeconds: span(steps, 'save-images', 'save-images'),
    // Staged: the loads are in stage-images, before the stop; the figure is the loads alone, not the
    // private dockerd's start and stop around them (stageSeconds is the whole step).
    loadSeconds: loadSpan(runLog, steps.has('stage-images') ? 'stage-images' : 'load-images'),
    stageSeconds: steps.has('stage-images') ? span(steps, 'stage-images', 'stage-images') : undefined,
    downtimeSeconds: span(steps, 'stop-containers', 'start-containers'),
    archiveBytes: dirBytes(path.join(backup, 'runs', runId, 'images')),
    steps: Object.fromEntries([...steps].map(([id, t]) => [id, round(((t.end ?? t.start) - t.start) / 1000)])),
  };
}

// ---------------------------------------------------------------------------------------------
// The manual runbook, scripted

interface ManualRun {
  saveSeconds: number;
  loadSeconds: number;
  downtimeSeconds: number;
  archiveBytes: number;
}

async function manualRun(daemon: DaemonHandle, workload: Workload, work: string): Promise<ManualRun> {
  const saves = path.join(work, 'manual-saves');
  mkdirSync(saves, { recursive: true });
  let start = process.hrtime.bigint();
  for (const [i, image] of workload.images.entries()) {
    await dockerWith(daemon, ['save', '-o', path.join(saves, `image-${i}.tar`), image], { timeoutMs: 1_800_000 });
  }
  spawnSync('sync');
  const saveSeconds = seconds(start);
  const downtimeStart = process.hrtime.bigint();
  await docker(daemon, 'stop', ...workload.containers.map((c) => c.name));
  await daemon.stopDaemon();
  const aside = `${daemon.dataRoot}.old`;
  renameSync(daemon.dataRoot, aside);
  const config = JSON.parse(readFileSync(daemon.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(daemon.configFile, JSON.stringify({ ...config, 'storage-driver': 'overlay2' }, null, 2) + '\n');
  mkdirSync(daemon.dataRoot, { mode: 0o710 });
  renameSync(path.join(aside, 'volumes'), path.join(daemon.dataRoot, 'volumes'));
  await daemon.startDaemon();
  start = process.hrtime.bigint();
  for (const i of workload.images.keys()) {
    await dockerWith(daemon, ['load', '-q', '-i', path.join(saves, `image-${i}.tar`)], { timeoutMs: 1_800_000 });
  }
  const loadSeconds = seconds(start);
  for (const container of workload.containers) await runContainer(daemon, container);
  const downtimeSeconds = seconds(downtimeStart);
  const running = await runningCount(daemon);
  if (running !== workload.containers.length) throw new Error(`after the runbook, ${running} of ${workload.containers.length} containers run`);
  return { saveSeconds, loadSeconds, downtimeSeconds, archiveBytes: dirBytes(saves) };
}

/** The stubborn workload migrated by the tool: its downtime is bounded by the stop timeouts. */
async function stubbornRun(work: string): Promise<ToolRun> {
  const dir = path.join(work, 'stubborn');
  mkdirSync(dir);
  log(`stubborn: ${STUBBORN_CONTAINERS} containers ignoring SIGTERM, stop timeout ${STUBBORN_STOP_TIMEOUT_S} s; devmapper-migrate run`);
  const daemon = await freshDaemon('bench-stubborn');
  const workload = await buildStubbornWorkload(daemon);
  const r = await toolRun(daemon, workload, dir);
  log(`stubborn: downtime ${r.downtimeSeconds} s`);
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
  return r;
}

// ---------------------------------------------------------------------------------------------
// Bounds: GNU tar (scripts/bench-archive.mjs) and dd

interface ArchiveFigures {
  dataMb: number;
  mbPerSecond: { tarCreate: number; ourPack: number; tarExtract: number; ourExtract: number };
  ratio: { pack: number; extract: number };
  peakRssMb: { pack: number; extract: number };
}

/**
 * Rounds of the archive bench, each side taking turns first; its figures are the medians. On
 * this rig one run of tar -x or of ours can take twice another's time on the same archive (the
 * kernel's share moves between runs): one round's ratio said little.
 */
const ARCHIVE_ROUNDS = 7;

/** Our side of the archive bench runs with the launcher's node options, as the tool does. */
function archiveBench(volumesMb: number, work: string): ArchiveFigures {
  const json = path.join(work, 'archive.json');
  const args = ['scripts/bench-archive.mjs', '--big-mb', String(volumesMb), '--big-files', String(Math.max(1, Math.round(volumesMb / FILE_MB))), '--small-files', '2000', '--rounds', String(ARCHIVE_ROUNDS), '--dir', work, '--json', json, '--node-flags', launcherNodeFlags().join(' ')];
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`bench-archive exited ${result.status}`);
  return JSON.parse(readFileSync(json, 'utf8')) as ArchiveFigures;
}

/** The disk's own sequential write rate: dd of `mb` MB with conv=fdatasync. */
function ddRate(mb: number, work: string): number {
  const file = path.join(work, 'dd.bin');
  const result = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mb}`, 'conv=fdatasync'], { encoding: 'utf8' });
  rmSync(file, { force: true });
  const match = /copied, ([\d.]+) s/.exec(result.stderr);
  if (!match) throw new Error(`dd: ${result.stderr}`);
  return round(((mb << 20) / 1e6) / Number(match[1]), 0);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = options();
  if (process.getuid?.() !== 0) throw new Error('bench: run as root (it starts private dockerds)');
  await ensureDist();
  const work = mkdtempSync(path.join(opts.dir, 'dmm-bench-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const figures: Record<string, unknown> = {
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.release()}, node ${process.version}`,
    date: new Date().toISOString(),
    sizes: opts.sizes,
  };
  const tool: Partial<Record<Size['label'], ToolRun & { imageMb: number; volumeMb: number }>> = {};
  let manual: (ManualRun & { imageMb: number }) | undefined;
  for (const size of opts.sizes) {
    const dir = path.join(work, size.label);
    mkdirSync(dir);
    log(`${size.label}: building ${size.imagesMb} MB of images and ${size.volumesMb} MB of volume data`);
    const daemon = await freshDaemon(`bench-${size.label}`);
    const workload = await buildWorkload(daemon, size, dir);
    log(`${size.label}: ${workload.images.length} images, ${workload.containers.length} containers; devmapper-migrate run`);
    const r = await toolRun(daemon, workload, dir);
    tool[size.label] = { ...r, imageMb: round(workload.imageBytes / 1e6, 0), volumeMb: round(workload.volumeBytes / 1e6, 0) };
    log(`${size.label}: run took ${r.totalSeconds} s, downtime ${r.downtimeSeconds} s, peak RSS ${r.peakRssMb} MB`);
    await daemon.stop();
    if (size.label === 'small' && opts.manual) {
      log('small: building the same workload again for the manual runbook');
      const again = await freshDaemon('bench-manual');
      const workload2 = await buildWorkload(again, size, dir);
      const m = await manualRun(again, workload2, dir);
      manual = { ...m, imageMb: round(workload2.imageBytes / 1e6, 0) };
      log(`manual runbook: downtime ${round(m.downtimeSeconds)} s`);
      await again.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const small = tool.small!;
  const large = tool.large!;
  const stubborn = opts.stubborn ? await stubbornRun(work) : undefined;
  const archive = opts.archive ? (log(`volume archive vs GNU tar on ${opts.sizes[0]!.volumesMb} MB`), archiveBench(opts.sizes[0]!.volumesMb, work)) : undefined;
  const ddMb = Math.round(small.archiveBytes / 2 ** 20);
  const dd = ddRate(ddMb, work);
  const mbps = (bytes: number, s: number) => round(bytes / 1e6 / s, 0);
  const rows: Row[] = [];
  const result: Record<string, unknown> = { ...figures, ddMb, ddMbPerSecond: dd, tool, manual, archive, stubborn };
  if (manual) {
    const saveTool = mbps(small.archiveBytes, small.saveSeconds);
    const saveDocker = mbps(manual.archiveBytes, manual.saveSeconds);
    const loadTool = mbps(small.archiveBytes, small.loadSeconds);
    const loadDocker = mbps(manual.archiveBytes, manual.loadSeconds);
    result.ratios = {
      save: round(saveTool / saveDocker),
      load: round(loadTool / loadDocker),
      downtimeVsManual: round(small.downtimeSeconds / manual.downtimeSeconds),
    };
    rows.push(ratioRow(`image save (${small.imageMb} MB)`, `${saveTool} MB/s`, `docker save -o: ${saveDocker} MB/s`, saveTool / saveDocker, atLeast(0.95)));
    rows.push(ratioRow(`image load (${small.imageMb} MB, loads only)`, `${loadTool} MB/s`, `docker load -i: ${loadDocker} MB/s`, loadTool / loadDocker, atLeast(0.95)));
  }
  if (archive) {
    rows.push(ratioRow(`volume archive (${archive.dataMb} MB)`, `${archive.mbPerSecond.ourPack} MB/s`, `tar -c: ${archive.mbPerSecond.tarCreate} MB/s`, archive.ratio.pack, atLeast(0.95)));
    rows.push(ratioRow(`volume restore (${archive.dataMb} MB)`, `${archive.mbPerSecond.ourExtract} MB/s`, `tar -x: ${archive.mbPerSecond.tarExtract} MB/s`, archive.ratio.extract, atLeast(0.95)));
  }
  rows.push(valueRow(`peak RSS, run (${small.imageMb}+${small.volumeMb} MB)`, small.peakRssMb, 'MB', atMost(PEAK_RSS_MB)));
  rows.push(valueRow(`peak RSS, run (${large.imageMb}+${large.volumeMb} MB)`, large.peakRssMb, 'MB', atMost(PEAK_RSS_MB)));
  if (archive) {
    rows.push(valueRow('peak RSS, volume archive', archive.peakRssMb.pack, 'MB', atMost(PEAK_RSS_MB)));
    rows.push(valueRow('peak RSS, volume restore', archive.peakRssMb.extract, 'MB', atMost(PEAK_RSS_MB)));
  }
  if (manual) {
    rows.push(ratioRow(`downtime (${small.volumeMb} MB volumes)`, `${small.downtimeSeconds} s`, `manual runbook: ${round(manual.downtimeSeconds, 1)} s`, small.downtimeSeconds / manual.downtimeSeconds, atMost(0.35, 0.5)));
  }
  const growth = round(large.downtimeSeconds / small.downtimeSeconds);
  result.downtimeGrowth = growth;
  rows.push(ratioRow(`downtime (${large.volumeMb} MB volumes)`, `${large.downtimeSeconds} s`, `at ${small.volumeMb} MB: ${small.downtimeSeconds} s`, growth, atMost(1.1)));
  if (stubborn) {
    rows.push(valueRow(`downtime, ${STUBBORN_CONTAINERS} containers ignoring SIGTERM (stop timeout ${STUBBORN_STOP_TIMEOUT_S} s)`, stubborn.downtimeSeconds, 's', below(15)));
  }
  rows.push({ figure: `disk: dd ${ddMb} MB conv=fdatasync`, tool: `${dd} MB/s`, baseline: '', ratio: '', target: '(bound)', verdict: '' });
  rows.push({ figure: 'whole run (small / large)', tool: `${small.totalSeconds} s / ${large.totalSeconds} s`, baseline: '', ratio: '', target: '', verdict: '' });
  result.rows = rows;
  printTable(rows);
  console.log(`\nmachine: ${String(figures.machine)}; data in ${opts.dir}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (manual) {
    console.log(
      `image load: the tool's figure spans its first "Loading image" line to its last "Restored" line in run.log (each load with its sha256 check);` +
        (small.stageSeconds === undefined
          ? ' the run did not stage, so the loads are in load-images, inside the downtime.'
          : ` the whole stage-images step took ${small.stageSeconds} s, with the private dockerd's start and stop, before the containers stop (not downtime).`) +
        ' docker load -i: the loads alone, one after the other.',
    );
  }
  console.log(`step seconds (small): ${JSON.stringify(small.steps)}`);
  console.log(`step seconds (large): ${JSON.stringify(large.steps)}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
}

/** A figure with its target; `verdict` says whether this run met it. */
interface Row {
  figure: string;
  tool: string;
  baseline: string;
  ratio: string;
  target: string;
  /** 'pass': the target is met; 'must met': only the must-target (a looser bound) is; 'miss': neither. */
  verdict: 'pass' | 'must met' | 'miss' | '';
}

/** Issue 20's limit for the tool's peak RSS, at every size. */
const PEAK_RSS_MB = 120;

interface Target {
  text: string;
  verdict(value: number): Row['verdict'];
}

const atLeast = (goal: number): Target => ({ text: `>= ${goal}`, verdict: (v) => (v >= goal ? 'pass' : 'miss') });
const below = (goal: number): Target => ({ text: `< ${goal}`, verdict: (v) => (v < goal ? 'pass' : 'miss') });
/** At most `goal`; with `must`, a value between the two meets only the must-target. */
const atMost = (goal: number, must?: number): Target => ({
  text: must === undefined ? `<= ${goal}` : `<= ${goal} (must: <= ${must})`,
  verdict: (v) => (v <= goal ? 'pass' : must !== undefined && v <= must ? 'must met' : 'miss'),
});

function ratioRow(figure: string, tool: string, baseline: string, ratio: number, target: Target): Row {
  return { figure, tool, baseline, ratio: String(round(ratio)), target: target.text, verdict: target.verdict(round(ratio)) };
}

function valueRow(figure: string, value: number, unit: string, target: Target): Row {
  return { figure, tool: `${value} ${unit}`, baseline: '', ratio: '', target: `${target.text} ${unit}`, verdict: target.verdict(value) };
}

function printTable(rows: Row[]): void {
  const header: Row = { figure: 'figure', tool: 'devmapper-migrate', baseline: 'baseline', ratio: 'ratio', target: 'target', verdict: 'pass/miss' as Row['verdict'] };
  const cells = (r: Row) => [r.figure, r.tool, r.baseline, r.ratio, r.target, r.verdict];
  const all = [header, ...rows].map(cells);
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log('');
  console.log(line(all[0]!));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of all.slice(1)) console.log(line(r));
}

main()
  .catch((error: unknown) => {
    console.error(`bench: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => teardown());
