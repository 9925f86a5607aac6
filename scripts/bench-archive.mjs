#!/usr/bin/env node
// Volume archive benchmark (issue 9): GNU `tar -c`/`tar -x` against packDirectory/extractArchive
// on the same tree (~1 GB in ~200 files plus ~5000 small files), in one run on one disk.
// Prints MB/s, ratios (ours / GNU tar; the target is >= 0.95) and our peak RSS, and with
// --json FILE writes the figures there. Our side runs in a child process so that its peak RSS
// is its own. The temp dir is removed at the end, also on failure.
//
//   node scripts/bench-archive.mjs [--big-mb 1000] [--big-files 200] [--small-files 5000] [--rounds 3] [--dir /var/tmp] [--json out.json] [--node-flags '--max-semi-space-size=2']
//
// --node-flags: the node options our side runs with; `npm run bench` passes the release
// launcher's (packaging/launcher.sh), so that the peak RSS is the shipped tool's.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');

/** The node options our side runs with (--node-flags); set before main runs. */
let childNodeFlags = [];

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main(parseArgs(process.argv.slice(2)));

function parseArgs(argv) {
  const options = { bigMb: 1000, bigFiles: 200, smallFiles: 5000, rounds: 3, dir: os.tmpdir(), json: undefined, nodeFlags: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--big-mb') options.bigMb = Number(value);
    else if (key === '--big-files') options.bigFiles = Number(value);
    else if (key === '--small-files') options.smallFiles = Number(value);
    else if (key === '--rounds') options.rounds = Number(value);
    else if (key === '--dir') options.dir = value;
    else if (key === '--json') options.json = value;
    else if (key === '--node-flags') options.nodeFlags = value.split(' ').filter(Boolean);
    else throw new Error(`unknown option ${key}`);
  }
  return options;
}

/** Our side, in its own process: `--child pack SRC OUT` or `--child extract ARCHIVE DST MODULE`. */
async function child([mode, from, to, modulePath]) {
  const archive = await import(pathToFileURL(modulePath).href);
  const threadsAtStart = threadTicks();
  const threads = new Map();
  // Threads come and go (the hashing worker ends with its archive): sample them as they run.
  const sampler = setInterval(() => threadTicks(threads), 10);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const result = mode === 'pack' ? await archive.packIntoFile(from, to) /* as the archive step packs */ : await archive.extractArchive(createReadStream(from, { highWaterMark: archive.ARCHIVE_READ_BYTES }), to); // as the restore step reads
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  threadTicks(threads);
  // The main thread's CPU seconds, and the other threads' (the hashing worker, the thread
  // pool's file writes, V8's helpers): with a core free for the others, the main thread's is
  // the run's length; a busy machine stretches wall time, not these.
  const ticks = 100; // USER_HZ, Linux's clock ticks per second in /proc
  const used = (id) => ((threads.get(id) ?? 0) - (threadsAtStart.get(id) ?? 0)) / ticks;
  const mainThread = used(String(process.pid));
  const otherThreads = [...threads.keys()].filter((id) => id !== String(process.pid)).reduce((sum, id) => sum + used(id), 0);
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainThreadCpuSeconds: mainThread, otherThreadsCpuSeconds: otherThreads, bytes: result.bytes, sha256: result.sha256, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

/** utime + stime clock ticks of each of this process's threads (/proc/self/task/N/stat), into `into`. */
function threadTicks(into = new Map()) {
  for (const id of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      into.set(id, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return into;
}

async function main(options) {
  childNodeFlags = options.nodeFlags;
  const work = await mkdtemp(path.join(options.dir, 'dmm-bench-'));
  try {
    const modulePath = path.join(work, 'archive.mjs');
    await build({
      entryPoints: [path.join(repo, 'src/archive/index.ts')],
      outfile: modulePath,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18.19',
      packages: 'external',
      logLevel: 'warning',
    });
    // The bundle imports tar-stream: resolve it from the repository.
    await writeFile(path.join(work, 'package.json'), '{"type":"module"}');
    execFileSync('ln', ['-s', path.join(repo, 'node_modules'), path.join(work, 'node_modules')]);

    const source = path.join(work, 'source');
    const dataBytes = await makeTree(source, options);
    const dataMb = dataBytes / 1e6;
    console.log(`tree: ${options.bigFiles} files of ${(options.bigMb / options.bigFiles).toFixed(1)} MB + ${options.smallFiles} small files, ${dataMb.toFixed(0)} MB of data, in ${work}`);

    const runs = { tarCreate: [], ourPack: [], tarExtract: [], ourExtract: [] };
    // CPU seconds (user + system, all threads): less sensitive than wall time to a busy machine.
    const cpu = { tarCreate: [], ourPack: [], tarExtract: [], ourExtract: [] };
    // Ours, by thread: the main one and all the others (tar has one thread).
    const threadCpu = { ourPackMain: [], ourPackOthers: [], ourExtractMain: [], ourExtractOthers: [] };
    let rss = { pack: 0, extract: 0 };
    const gnuArchive = path.join(work, 'gnu.tar');
    const ourArchive = path.join(work, 'ours.tar');
    const target = path.join(work, 'target');
    // Warm the page cache once so that the first timed run is not the only cold one.
    execFileSync('tar', ['-cf', gnuArchive, '-C', source, '.']);
    for (let round = 0; round < options.rounds; round++) {
      // Alternate who goes first: the machine is shared and noisy.
      const order = round % 2 === 0 ? ['gnu', 'ours'] : ['ours', 'gnu'];
      for (const who of order) {
        await rm(who === 'gnu' ? gnuArchive : ourArchive, { force: true });
        settle();
        if (who === 'gnu') record(runs.tarCreate, cpu.tarCreate, timeCommand('tar', ['-cf', gnuArchive, '-C', source, '.']));
        else {
          const r = runChild(['pack', source, ourArchive, modulePath]);
          record(runs.ourPack, cpu.ourPack, r);
          threadCpu.ourPackMain.push(r.mainThreadCpuSeconds);
          threadCpu.ourPackOthers.push(r.otherThreadsCpuSeconds);
          rss.pack = Math.max(rss.pack, r.maxRssMb);
        }
      }
      for (const who of order) {
        await rm(target, { recursive: true, force: true });
        await mkdir(target);
        settle();
        if (who === 'gnu') record(runs.tarExtract, cpu.tarExtract, timeCommand('tar', ['-xf', ourArchive, '-C', target]));
        else {
          const r = runChild(['extract', ourArchive, target, modulePath]);
          record(runs.ourExtract, cpu.ourExtract, r);
          threadCpu.ourExtractMain.push(r.mainThreadCpuSeconds);
          threadCpu.ourExtractOthers.push(r.otherThreadsCpuSeconds);
          rss.extract = Math.max(rss.extract, r.maxRssMb);
        }
      }
    }
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const figures = {
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
      dataMb: Math.round(dataMb),
      rounds: options.rounds,
      seconds: Object.fromEntries(Object.entries(runs).map(([key, values]) => [key, median(values)])),
      cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([key, values]) => [key, round2(median(values))])),
      threadCpuSeconds: Object.fromEntries(Object.entries(threadCpu).map(([key, values]) => [key, round2(median(values))])),
      all: runs,
    };
    const mbps = (seconds) => dataMb / seconds;
    figures.mbPerSecond = Object.fromEntries(Object.entries(figures.seconds).map(([key, s]) => [key, Math.round(mbps(s))]));
    figures.ratio = {
      pack: round2(figures.seconds.tarCreate / figures.seconds.ourPack),
      extract: round2(figures.seconds.tarExtract / figures.seconds.ourExtract),
    };
    figures.peakRssMb = { pack: Math.round(rss.pack), extract: Math.round(rss.extract) };
    console.log('');
    console.log(`                 GNU tar        ours          ratio (>= 0.95)   our peak RSS`);
    console.log(`archive (pack)   ${fmt(figures.mbPerSecond.tarCreate)}   ${fmt(figures.mbPerSecond.ourPack)}   ${figures.ratio.pack.toFixed(2).padStart(6)}            ${figures.peakRssMb.pack} MB`);
    console.log(`restore (extract)${fmt(figures.mbPerSecond.tarExtract)}   ${fmt(figures.mbPerSecond.ourExtract)}   ${figures.ratio.extract.toFixed(2).padStart(6)}            ${figures.peakRssMb.extract} MB`);
    console.log(`CPU seconds (median): tar -c ${figures.cpuSeconds.tarCreate}, ours ${figures.cpuSeconds.ourPack}; tar -x ${figures.cpuSeconds.tarExtract}, ours ${figures.cpuSeconds.ourExtract}`);
    const t = figures.threadCpuSeconds;
    console.log(`ours by thread (median CPU seconds): pack: main ${t.ourPackMain}, others ${t.ourPackOthers}; extract: main ${t.ourExtractMain}, others ${t.ourExtractOthers}`);
    console.log(`(our side ran with node options: ${childNodeFlags.join(' ') || 'none'})`);
    console.log(`(medians of ${options.rounds} rounds; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; all runs in seconds: ${JSON.stringify(runs)})`);
    if (options.json) writeFileSync(options.json, JSON.stringify(figures, null, 2) + '\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Flushes dirty pages before a timed run, so that one run's writeback does not slow the next. */
function settle() {
  execFileSync('sync');
}

function fmt(mbPerSecond) {
  return `${String(mbPerSecond).padStart(6)} MB/s`;
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

function record(wall, cpuList, run) {
  wall.push(run.seconds);
  cpuList.push(run.cpuSeconds);
}

/** Wall and CPU seconds of a command; the shell's `times` gives its children's CPU time. */
function timeCommand(command, args) {
  const quoted = [command, ...args].map((arg) => `'${arg}'`).join(' ');
  const start = process.hrtime.bigint();
  const result = spawnSync('sh', ['-c', `${quoted} >/dev/null && times`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, sec]) => sum + Number(m) * 60 + Number(sec), 0);
  return { seconds, cpuSeconds };
}

function runChild(args) {
  const result = spawnSync(process.execPath, [...childNodeFlags, self, '--child', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`bench child ${args[0]} exited ${result.status}`);
  return JSON.parse(result.stdout);
}

/** ~bigMb in bigFiles files plus smallFiles files of 1-16 KB in 50 directories; returns data bytes. */
async function makeTree(root, options) {
  await mkdir(root, { recursive: true });
  let total = 0;
  const bigSize = Math.floor((options.bigMb * 1e6) / options.bigFiles);
  // Incompressible data; one random block reused with a varying prefix keeps generation fast.
  const block = randomFillSync(Buffer.allocUnsafe(bigSize));
  await mkdir(path.join(root, 'big'));
  for (let i = 0; i < options.bigFiles; i++) {
    block.writeUInt32LE(i, 0);
    await writeFile(path.join(root, 'big', `file-${String(i).padStart(4, '0')}.bin`), block);
    total += bigSize;
  }
  for (let i = 0; i < options.smallFiles; i++) {
    const dir = path.join(root, 'small', `dir-${i % 50}`);
    if (i < 50) await mkdir(dir, { recursive: true });
    const size = 1024 + ((i * 7919) % (15 * 1024));
    await writeFile(path.join(dir, `small-${i}.dat`), block.subarray(i, i + size));
    total += size;
  }
  return total;
}
