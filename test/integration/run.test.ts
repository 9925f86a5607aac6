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
import { BASE_IMAGE, buildImage, docker, freePort, runCli, seedBaseImage, startDockerd, startRegistry, subnetFor, type DaemonHandle, type RegistryHandle, type RunResult } from '../rig/index.js';
import { pathWithoutNode, runLauncher, unpackArtifact, type UnpackedArtifact } from '../rig/artifact.js';
import { hostSnapshot, volumeFiles, type HostSnapshot } from '../rig/snapshot.js';
import { addRollbackTraps, CRASHED } from './fault-common.js';

const APP = 'run-test/app:1';
const VOLUME = 'run-data';

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

function explain(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- daemon log\n${daemon.logTail(30)}`;
}

/** Images with three tags and an untagged one, networks, volumes of every kind of file, containers of every kind. */
async function createWorkload(): Promise<void> {
  const d = (...args: string[]) => docker(daemon, ...args);
  await seedBaseImage(daemon);
  await buildImage(daemon, APP, `FROM ${BASE_IMAGE}\nENV IMGVAR=fromimage\nWORKDIR /srv\nLABEL img.label=one\nCMD ["sleep","3600"]\n`);
  await d('tag', APP, 'run-test/app:latest');
  await d('tag', APP, 'run-test/app:stable');
  // Built twice under one tag: the first build is left untagged (dangling), and must not be lost.
  await buildImage(daemon, 'run-test/old:1', `FROM ${BASE_IMAGE}\nLABEL build=first\n`);
  await buildImage(daemon, 'run-test/old:1', `FROM ${BASE_IMAGE}\nLABEL build=second\n`);
  const subnet = subnetFor(daemon, 1);
  const staticIp = subnet.replace(/0\/24$/, '10');
  await d('network', 'create', '--subnet', subnet, '--gateway', subnet.replace(/0\/24$/, '1'), '--ip-range', subnet.replace(/0\/24$/, '128/25'), '--label', 'net.l=1', 'run-appnet');
  await d('network', 'create', '--internal', '--label', 'tier=back', 'run-back');
  await d('volume', 'create', '--label', 'v=1', VOLUME);
  // Every kind of file: regular, directory, symlink, hard link, modes, owners, an xattr.
  await d(
    'run', '--rm', '-v', `${VOLUME}:/data`, BASE_IMAGE, 'sh', '-c',
    'mkdir -p /data/sub/deep && echo hello > /data/greeting.txt && seq 1 5000 > /data/sub/numbers.txt && ' +
      'ln -s greeting.txt /data/link && ln /data/greeting.txt /data/hard && chmod 0640 /data/greeting.txt && ' +
      'chown 1234:5678 /data/sub/numbers.txt && chmod 1777 /data/sub/deep && touch -d "2001-02-03 04:05:06" /data/sub/numbers.txt && ' +
      'mkfifo -m 0620 /data/pipe && mknod -m 0600 /data/null c 1 3',
  );
  execFileSync('setfattr', ['-n', 'user.origin', '-v', 'kept', join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'greeting.txt')]);
  const port = await freePort();
  await d(
    'run', '-d', '--name', 'web', '--network', 'run-appnet', '--ip', staticIp, '--network-alias', 'www',
    '-p', `127.0.0.1:${port}:80`, '-e', 'FOO=bar', '-l', 'app=web', '--restart', 'unless-stopped', '-m', '64m',
    '-v', `${VOLUME}:/data`, '-v', '/anon', APP, 'sh', '-c', 'echo hello-web > /srv/index.html && exec httpd -f -p 80 -h /srv',
  );
  await d('run', '-d', '--name', 'two', '--network', 'run-appnet', '--cpus', '0.5', '--pids-limit', '64', '--restart', 'always', APP);
  await d('network', 'connect', '--alias', 'backtwo', 'run-back', 'two');
  await d('run', '-d', '--name', 'side', '--network', 'container:web', APP);
  await d('run', '--name', 'stopped', '--restart', 'on-failure:3', APP, 'true');
  await d('create', '--name', 'never', '-e', 'ONLY=created', '-w', '/tmp', APP, 'echo', 'hi');
  await d('run', '-d', '--name', 'layer', 'run-test/app:stable');
  await d('exec', 'layer', 'sh', '-c', 'echo added > /srv/new.txt && echo changed >> /etc/motd && rm /usr/bin/wc');
  // A tmpfs-backed volume, mounted by a running container: its files are fresh at each mount.
  await d('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m', 'run-scratch');
  await d('run', '-d', '--name', 'scratch', '-v', 'run-scratch:/scratch', APP, 'sh', '-c', 'echo temp > /scratch/t && exec sleep 3600');
  await addRollbackTraps(daemon);
}

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
  await createWorkload();
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
      'volumes:',
      '  archive: true',
      'service:',
      '  manager: command',
      `  stop: bash ${daemon.stopScript}`,
      `  start: bash ${daemon.startScript}`,
      '  timeoutSeconds: 120',
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
