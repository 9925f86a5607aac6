// The whole migration, end to end, through the real CLI against a rig dockerd: a realistic
// workload on vfs (standing in for devicemapper) is migrated to overlay2 with `run --answers
// --yes` through the `command` service manager (the rig's own start.sh/stop.sh). The test
// compares the host before and after with its own snapshot (not the tool's verify), then
// checks verify, a change verify must name, and a rollback that carries back later writes.
// The tool runs as on a RHEL 7 host: from the release tarball unpacked into a fresh directory,
// through its launcher (so on the bundled Node 16.20.2), with no other Node on PATH.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractArchive } from '../../src/archive/index.js';
import { NodeHost } from '../../src/host/node-host.js';
import { hostNodeMaker } from '../../src/host/special-files.js';
import { hostXattrWriter } from '../../src/host/xattr-tools.js';
import { docker, run, runCli, startDockerd, startRegistry, type DaemonHandle, type RegistryHandle, type RunResult } from '../rig/index.js';
import { pathWithoutNode, runLauncher, unpackArtifact, type UnpackedArtifact } from '../rig/artifact.js';
import { hostSnapshot, volumeFiles, type HostSnapshot } from '../rig/snapshot.js';
import { CRASHED } from './fault-common.js';
import { commandServiceAnswers, createRunWorkload, explainRun, RUN_VOLUME as VOLUME } from './run-workload.js';

let daemon: DaemonHandle;
let registry: RegistryHandle;
let work: string;
let stateDir: string;
let before: HostSnapshot;
let configTarget: string;
let originalConfig: string;

/** The symlinked daemon.json is still a link to the same file, 0640 root:4242, with this text. */
function expectConfigKept(text: RegExp | string): void {
  expect(lstatSync(daemon.configFile).isSymbolicLink()).toBe(true);
  expect(readlinkSync(daemon.configFile)).toBe(configTarget);
  const real = statSync(configTarget);
  expect(real.mode & 0o7777).toBe(0o640);
  expect([real.uid, real.gid]).toEqual([0, 4242]);
  if (typeof text === 'string') expect(readFileSync(configTarget, 'utf8')).toBe(text);
  else expect(readFileSync(configTarget, 'utf8')).toMatch(text);
}
let artifact: UnpackedArtifact;
let pathWithout: string;

function cli(...args: string[]): Promise<RunResult> {
  return runLauncher(artifact.launcher, pathWithout, ['--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, ...args], { CI: 'true' });
}

const explain = (result: RunResult): string => explainRun(result, daemon);

/** Every file under a directory, as paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * A tree as GNU stat and sha256sum see it, one line per entry, relative names: kind, mode,
 * owner, size, mtime to the microsecond (Node's utimes takes seconds as a double: the
 * nanoseconds below are not restored), device numbers, link target, content hash. Not the
 * project's own tree code: an independent comparison.
 */
function gnuListing(dir: string): string[] {
  const stat = execFileSync('sh', ['-c', `cd "$1" && find . -mindepth 1 -exec stat -c '%n\t%F\t%a\t%u:%g\t%s\t%.6Y\t%t:%T' {} + | sort`, 'sh', dir], { encoding: 'utf8' });
  return stat.trimEnd().split('\n').map((line) => {
    const name = line.split('\t')[0]!;
    const kind = line.split('\t')[1]!;
    const abs = join(dir, name);
    if (kind === 'symbolic link') return `${line}\t-> ${readlinkSync(abs)}`;
    if (kind.startsWith('regular')) return `${line}\t${execFileSync('sha256sum', [abs], { encoding: 'utf8' }).split(' ')[0]}`;
    return line;
  });
}

/** Names that share an inode (hard links), by relative path. */
function hardLinkGroups(dir: string): string[][] {
  const out = execFileSync('sh', ['-c', `cd "$1" && find . -mindepth 1 -type f -links +1 -printf '%i %P\n'`, 'sh', dir], { encoding: 'utf8' });
  const groups = new Map<string, string[]>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [inode, ...name] = line.split(' ');
    groups.set(inode!, [...(groups.get(inode!) ?? []), name.join(' ')].sort());
  }
  return [...groups.values()].sort();
}

/** getfattr's dump of every extended attribute under a directory, relative names. */
function xattrDump(dir: string): string {
  return execFileSync('sh', ['-c', 'cd "$1" && getfattr -R -h -d -m - . 2>/dev/null || true', 'sh', dir], { encoding: 'utf8' });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-run-'));
  artifact = await unpackArtifact(work);
  pathWithout = pathWithoutNode(work);
  stateDir = join(work, 'state');
  daemon = await startDockerd({ name: 'run-e2e', storageDriver: 'vfs' });
  registry = await startRegistry({ auth: false });
  await createRunWorkload(daemon);
  before = await hostSnapshot(daemon);
  // daemon.json as config management leaves it: a symlink to a file of its own mode and group.
  mkdirSync(join(work, 'managed'));
  configTarget = join(work, 'managed', 'daemon.json');
  originalConfig = readFileSync(daemon.configFile, 'utf8');
  writeFileSync(configTarget, originalConfig, { mode: 0o640 });
  chmodSync(configTarget, 0o640);
  chownSync(configTarget, 0, 4242);
  rmSync(daemon.configFile);
  symlinkSync(configTarget, daemon.configFile);
  writeFileSync(
    join(work, 'answers.yaml'),
    [
      'target: overlay2',
      // Pre-staging on (a run where it cannot work would stop at the plan): this test is also the staged run's.
      'staging: on',
      'volumes:',
      '  archive: true',
      ...commandServiceAnswers(daemon),
      // Pushed too: the untagged images get a tag of their ID for the push, which must not stay.
      'images:',
      '  push: true',
      'registry:',
      `  address: ${registry.address}`,
      '',
    ].join('\n'),
  );
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  await daemon?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('run: vfs → overlay2, unattended', () => {
  let volumeInode: number;

  it('migrates the host and exits 0', async () => {
    volumeInode = statSync(join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'sub', 'numbers.txt')).ino;
    const result = await cli('run', '--answers', join(work, 'answers.yaml'), '--yes');
    expect(result.code, explain(result)).toBe(0);
    expect(result.stdout).toMatch(/Plan: migrate to overlay2/);
    expect(result.stdout).toMatch(/- Stage \d+ image\(s\) in the new data-root \[stage-images\]/);
    expect(result.stdout).toMatch(/\* Put the staged data-root in place \[place-staged-root\]/);
    expect(result.stderr).toMatch(/matches its inventory/);
    // Written through the link: the file keeps its mode and group, the link stays a link.
    expectConfigKept(/"storage-driver": "overlay2"/);
  }, 900_000);

  it('leaves the host as it was, on overlay2 (the test’s own comparison)', async () => {
    const after = await hostSnapshot(daemon);
    expect(before.driver).toBe('vfs');
    expect(after.driver).toBe('overlay2');
    expect(after.images).toEqual(before.images);
    expect(after.networks).toEqual(before.networks);
    expect(after.volumes).toEqual(before.volumes);
    expect(after.containers).toEqual(before.containers);
    expect(after.volumeFiles).toEqual(before.volumeFiles);
    // Carried by rename: the very same inode.
    expect(statSync(join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'sub', 'numbers.txt')).ino).toBe(volumeInode);
    // The writable layer's changes are back, in a container that runs.
    expect(await docker(daemon, 'exec', 'layer', 'cat', '/srv/new.txt')).toBe('added');
    expect(await docker(daemon, 'exec', 'layer', 'tail', '-n', '1', '/etc/motd')).toBe('changed');
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.origin', join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'greeting.txt')], { encoding: 'utf8' })).toBe('kept');
  });

  it('staged the images before the stop: none loaded in the window, and no private daemon, staged root or runtime dir left', async () => {
    const runDir = join(stateDir, 'runs', readFileSync(join(stateDir, 'current'), 'utf8').trim());
    const log = readFileSync(join(runDir, 'run.log'), 'utf8');
    expect(log).toMatch(/pre-staging: the images are loaded into \S+-staged by a private dockerd/);
    expect(log).toMatch(/All \d+ image\(s\) were staged before the stop: none loaded now/);
    expect(log).not.toMatch(/step load-images: started[\s\S]*Loading image [\s\S]*step load-images: done/);
    expect(readdirSync(join(daemon.dataRoot, '..')).filter((name) => name.endsWith('-staged') || name === 'rt')).toEqual([]);
    // pgrep itself (not a shell around it, whose command line would name the pattern).
    expect((await run('pgrep', ['-f', '--', `${daemon.dir}/rt/`])).stdout.trim()).toBe('');
    expect(readFileSync('/proc/self/mountinfo', 'utf8').includes(`${daemon.dir}/rt/`)).toBe(false);
    expect(statSync(join(runDir, 'staging-dockerd.log')).isFile()).toBe(true);
  });

  it('keeps the old data-root where the state file says, and every run file', async () => {
    const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
    const runDir = join(stateDir, 'runs', runId);
    const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as { status: string; notes: { keptDataRoot: string } };
    expect(state.status).toBe('completed');
    expect(statSync(join(state.notes.keptDataRoot, 'vfs')).isDirectory()).toBe(true);
    for (const file of ['inventory.json', 'answers.json', 'plan.json', 'report.json', 'report.txt', 'run.log']) {
      expect(statSync(join(runDir, file)).mode & 0o077, file).toBe(0);
    }
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    // Run through the release's launcher: the bundled Node 16.20.2 with the launcher's V8 flag
    // (a small young generation keeps the peak memory down), as run.log's first line says.
    expect(readFileSync(join(runDir, 'run.log'), 'utf8')).toMatch(/devmapper-migrate \S+ on node v16\.20\.2 --max-semi-space-size=2 \(linux-x64\)/);
    // The one thing the run cannot keep, said in the report: a file deleted in a writable layer.
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as { differences: number; entries: { key: string; severity: string; details?: Record<string, unknown> }[] };
    expect(report.differences).toBe(0);
    const caveats = report.entries.filter((e) => e.key === 'writable-layer-deletion-not-kept');
    expect(caveats).toEqual([expect.objectContaining({ severity: 'warning', details: { container: 'layer', deleted: ['/usr/bin/wc'] } })]);
    expect(readFileSync(join(runDir, 'report.txt'), 'utf8')).toContain('Files deleted inside layer are back');
    // And a note that the container which had stopped comes back never started ("Created").
    expect(report.entries.filter((e) => e.key === 'stopped-container-shows-created')).toEqual([expect.objectContaining({ severity: 'info', details: { containers: [CRASHED, 'stopped'] } })]);
  });

  it('archived the volume: its archive restores into an empty directory with every file as it was (GNU tools compare)', async () => {
    const archive = filesUnder(stateDir).filter((f) => f.endsWith(`/volumes/${VOLUME}.tar`));
    expect(archive, 'the archive-volumes step wrote the volume\'s archive').toHaveLength(1);
    const restored = join(work, 'restored-volume');
    mkdirSync(restored);
    const host = new NodeHost();
    const result = await extractArchive(createReadStream(archive[0]!), restored, { writeXattrs: hostXattrWriter(host), makeNode: hostNodeMaker(host), allowDevices: true });
    expect(result.skipped).toEqual([]);
    const original = join(daemon.dataRoot, 'volumes', VOLUME, '_data');
    const listing = gnuListing(original);
    expect(listing.map((l) => l.split('\t')[1]).sort()).toEqual(
      expect.arrayContaining(['character special file', 'directory', 'fifo', 'regular file', 'symbolic link']),
    );
    expect(gnuListing(restored)).toEqual(listing);
    expect(hardLinkGroups(restored)).toEqual(hardLinkGroups(original));
    expect(hardLinkGroups(original)).toEqual([['greeting.txt', 'hard']]);
    expect(xattrDump(restored)).toEqual(xattrDump(original));
    expect(xattrDump(original)).toContain('user.origin="kept"');
  });

  it('verify is clean, also after dockerd restarts (and shows the default gateway), and names exactly what changed afterwards', async () => {
    const clean = await cli('verify');
    expect(clean.code, explain(clean)).toBe(0);
    await daemon.restartDaemon();
    // dockerd starts again only the containers with a restart policy; the others by hand, as an operator would.
    for (const name of ['layer', 'scratch', 'side']) await docker(daemon, 'start', name);
    const restarted = await cli('verify');
    expect(restarted.code, explain(restarted)).toBe(0);
    writeFileSync(join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'sub', 'numbers.txt'), 'written after the cutover\n');
    const changed = await cli('verify', '--json');
    expect(changed.code, explain(changed)).toBe(1);
    const report = JSON.parse(changed.stdout) as { entries: { severity: string; key: string; details?: Record<string, unknown> }[] };
    // One file was rewritten: its content and its mtime differ, and nothing else does.
    const differences = report.entries.filter((e) => e.severity === 'blocker');
    expect(differences.map((d) => d.details?.what).sort(), changed.stdout).toEqual(['content', 'mtime']);
    for (const difference of differences) {
      expect(difference.details, changed.stdout).toMatchObject({ kind: 'volume', volume: VOLUME, item: 'sub/numbers.txt' });
    }
  });

  it('refuses a second run while the completed run is not finalized, and a run on a host already on overlay2', async () => {
    const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
    const again = await cli('run', '--answers', join(work, 'answers.yaml'), '--yes');
    expect(again.code, explain(again)).toBe(4);
    expect(again.stderr).toContain(`Run ${runId}`);
    expect(again.stderr).toContain(`devmapper-migrate rollback ${runId}`);
    expect(readFileSync(join(stateDir, 'current'), 'utf8').trim()).toBe(runId);
    // Another state dir does not see that run, but the daemon already runs the target.
    const elsewhere = await runCli(['--state-dir', join(work, 'other-state'), '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, 'run', '--answers', join(work, 'answers.yaml'), '--yes'], { CI: 'true' });
    expect(elsewhere.code, `exit ${elsewhere.code}\n${elsewhere.stderr}`).toBe(1);
    expect(elsewhere.stderr).toMatch(/already runs the target driver .*nothing to migrate/);
    expect(existsSync(join(work, 'other-state', 'current'))).toBe(false);
    expect((await hostSnapshot(daemon)).containers).toEqual(before.containers);
    const status = await cli('status', runId);
    expect(status.code, explain(status)).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^Run ${runId}: completed`));
  }, 300_000);

  it('rollback puts the host back on vfs, with what was written after the cutover', async () => {
    const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
    const result = await cli('rollback', '--yes', runId);
    expect(result.code, explain(result)).toBe(0);
    expectConfigKept(originalConfig);
    expect(result.stderr).toContain(`Stopped ${CRASHED} again`);
    const after = await hostSnapshot(daemon);
    expect(after.driver).toBe('vfs');
    expect(after.images).toEqual(before.images);
    expect(after.containers).toEqual(before.containers);
    expect(after.networks).toEqual(before.networks);
    expect(after.volumes).toEqual(before.volumes);
    expect(readFileSync(join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'sub', 'numbers.txt'), 'utf8')).toBe('written after the cutover\n');
    expect(volumeFiles(join(daemon.dataRoot, 'volumes', VOLUME, '_data'))['greeting.txt']).toEqual(before.volumeFiles[VOLUME]?.['greeting.txt']);
  }, 600_000);
});
