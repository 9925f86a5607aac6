// verify against the rig's real vfs daemon: a workload recorded the way a run records it is
// clean; then exactly one file of a volume and one container's label change, and verify names
// exactly those. The real CLI (dist build) on a hand-made run gives exit 0, then 1, and writes
// report.json and report.txt.
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveAnswers } from '../../src/config/answers.js';
import { openDockerDoors, type DockerDoors } from '../../src/docker/doors.js';
import { NodeHost } from '../../src/host/node-host.js';
import type { ReportEntry } from '../../src/report/entry.js';
import { ANSWERS_FILE, INVENTORY_FILE, VOLUME_TREES_FILE, type RecordedInventory } from '../../src/record/run-files.js';
import { RunStore } from '../../src/state/run-store.js';
import { recordVolumeTrees, verifyHost, type RecordedVolumeTrees, type VerifyResult } from '../../src/verify/index.js';
import { buildImage, docker, dockerTry, ensureDist, freePort, runCli, subnetFor } from '../rig/index.js';

const rig = inject('rig');
const daemon = rig.daemon;
const subnet = subnetFor(daemon, 31);
const net24 = subnet.replace(/\.0\/24$/, '');

const N = { app: 'vfy-test/app', net: 'vfy-net', data: 'vfy-data', web: 'vfy-web', job: 'vfy-job' };

let work: string;
let hostRoot: string;
let stateDir: string;
let doors: DockerDoors;
let port: number;
let recorded: RecordedInventory;
let trees: RecordedVolumeTrees;
let mountpoint: string;

const blockers = (result: { entries: ReportEntry[] }) => result.entries.filter((e) => e.severity === 'blocker');

/** The web container, with its label `tier` set to the value given. */
async function runWeb(tier: string): Promise<void> {
  await docker(
    daemon, 'run', '-d', '--name', N.web, '--network', N.net, '--ip', `${net24}.10`, '--network-alias', 'www',
    '-p', `127.0.0.1:${port}:8080`, '-e', 'MODE=prod', '-l', `tier=${tier}`, '--restart', 'unless-stopped',
    '-m', '64m', '--pids-limit', '100', '-v', `${N.data}:/data`, `${N.app}:1`,
  );
}

async function createWorkload(): Promise<string> {
  const appId = await buildImage(daemon, `${N.app}:1`, `FROM ${rig.baseImage}\nENV IMGVAR=fromimage\nWORKDIR /srv\nCMD ["sleep", "3600"]\n`);
  await docker(daemon, 'tag', `${N.app}:1`, `${N.app}:latest`);
  await docker(daemon, 'network', 'create', '--subnet', subnet, '--gateway', `${net24}.1`, '--label', 'net.l=1', '-o', 'com.docker.network.driver.mtu=1400', N.net);
  await docker(daemon, 'volume', 'create', '--label', 'backup=daily', N.data);
  await docker(
    daemon, 'run', '--rm', '-v', `${N.data}:/data`, rig.baseImage, 'sh', '-c',
    'mkdir -p /data/sub && echo hello > /data/sub/a.txt && echo secret > /data/private && chmod 600 /data/private && ' +
      'chown 1000:1000 /data/private && ln -s sub/a.txt /data/link && ln /data/sub/a.txt /data/hard && mkfifo /data/fifo && seq 1 500 > /data/numbers',
  );
  await runWeb('front');
  await docker(daemon, 'run', '--name', N.job, '-v', `${N.data}:/data:ro`, '--restart', 'no', `${N.app}:1`, 'cat', '/data/sub/a.txt');
  return appId;
}

async function verifyNow(driver = 'vfs'): Promise<VerifyResult> {
  return verifyHost({
    docker: doors,
    host: new NodeHost(hostRoot),
    recorded,
    volumeTrees: trees,
    expect: { driver, configMustBeClean: true },
    daemonConfigPath: '/etc/docker/daemon.json',
  });
}

async function cli(...args: string[]) {
  return runCli(['--state-dir', stateDir, '--docker-host', daemon.dockerHost, ...args], { DEVMAPPER_MIGRATE_HOST_ROOT: hostRoot });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmm-verify-'));
  // A host root of our own: the configuration verify reads is the test's, not this machine's.
  hostRoot = join(work, 'root');
  await mkdir(join(hostRoot, 'etc', 'docker'), { recursive: true });
  await writeFile(join(hostRoot, 'etc', 'docker', 'daemon.json'), '{\n  "storage-driver": "vfs"\n}\n');
  stateDir = join(work, 'state');
  port = await freePort();
  await ensureDist();
  const appId = await createWorkload();

  // What a run records: the inventory, the selection, the full inspects, then the volume trees.
  doors = await openDockerDoors(daemon.dockerHost);
  const inventory = await doors.system.inventory();
  const ids = [N.web, N.job].map((name) => inventory.containers.find((c) => c.name === name)!.id);
  recorded = {
    inventory,
    selection: { images: [appId], containers: [N.web, N.job], volumes: [N.data], networks: [N.net] },
    inspects: await doors.containers.inspect(ids),
  };
  mountpoint = inventory.volumes.find((v) => v.name === N.data)!.mountpoint;
  trees = JSON.parse(JSON.stringify(await recordVolumeTrees([{ name: N.data, path: mountpoint }], { content: true })));

  const store = await RunStore.create(stateDir, { dockerHost: daemon.dockerHost, daemonConfig: '/etc/docker/daemon.json' }, []);
  await store.writeJson(INVENTORY_FILE, recorded);
  await store.writeJson(ANSWERS_FILE, resolveAnswers({ target: 'overlay2' }));
  await store.writeJson(VOLUME_TREES_FILE, trees);
  // Rolled back: the host must be on its source driver (vfs), as the rig's daemon is.
  store.state.status = 'rolled-back';
  await store.save();
});

afterAll(async () => {
  for (const name of [N.web, N.job]) await dockerTry(daemon, 'rm', '-f', name);
  await dockerTry(daemon, 'volume', 'rm', N.data);
  await dockerTry(daemon, 'network', 'rm', N.net);
  await dockerTry(daemon, 'rmi', `${N.app}:1`, `${N.app}:latest`);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('verify on a real daemon', () => {
  it('finds no difference on the host as recorded', async () => {
    expect(trees.volumes[0]!.entries!.map((e) => e.path)).toEqual(['.', 'fifo', 'hard', 'link', 'numbers', 'private', 'sub', 'sub/a.txt']);
    const result = await verifyNow();
    expect(result.entries.filter((e) => e.severity !== 'info')).toEqual([]);
    expect(result.differences).toBe(0);
    expect(result.checked).toMatchObject({ images: 1, tags: 2, containers: 2, networks: 1, volumes: 1, volumeTrees: 1, volumeEntries: 8, configFiles: 1 });
  });

  it('the CLI: exit 0, report.json and report.txt written', async () => {
    const result = await cli('verify');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("The host matches the run's inventory (storage driver vfs).");
    const store = (await RunStore.openCurrent(stateDir))!;
    const report = JSON.parse(await readFile(store.path('report.json'), 'utf8'));
    expect(report).toMatchObject({ differences: 0, expect: { driver: 'vfs', configMustBeClean: false } });
    expect(await readFile(store.path('report.txt'), 'utf8')).toContain("The host matches the run's inventory");
    expect((await stat(store.path('report.json'))).mode & 0o777).toBe(0o600);
  });

  it('names exactly the one changed file and the one changed label', async () => {
    // One file's content changes; its size and mtime stay (only the checksum can see it).
    const file = join(mountpoint, 'numbers');
    const before = await stat(file, { bigint: true });
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('250\n', '251\n'));
    await utimes(file, Number(before.atimeNs) / 1e9, Number(before.mtimeNs) / 1e9);
    // The web container comes back with another label (new ID, same static IP, alias, port...).
    await docker(daemon, 'rm', '-f', N.web);
    await runWeb('back');

    const result = await verifyNow();
    const found = blockers(result).map((e) => ({ key: e.key, summary: e.summary }));
    expect(found).toEqual([
      { key: 'verify-volume-file', summary: expect.stringMatching(/^Volume "vfy-data", file "numbers": content differs/) },
      { key: 'verify-container-label', summary: 'Container "vfy-web", label "tier": "front" → "back".' },
    ]);
    expect(result.differences).toBe(2);
    expect(result.entries.filter((e) => e.severity === 'warning')).toEqual([]);
  });

  it('the CLI after a rollback: exit 1 naming the label, in text and in report.json (files are not compared then)', async () => {
    const text = await cli('verify');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('1 difference between the host and the run\'s inventory.');
    expect(text.stdout).toContain('BLOCKER Container vfy-web: label tier differs [verify-container-label]');
    const store = (await RunStore.openCurrent(stateDir))!;
    const report = JSON.parse(await readFile(store.path('report.json'), 'utf8'));
    expect(report.entries.filter((e: ReportEntry) => e.severity === 'blocker').map((e: ReportEntry) => e.details)).toEqual([
      expect.objectContaining({ container: N.web, item: 'tier', before: 'front', after: 'back' }),
    ]);
    expect(report.checked.volumeTrees).toBe(0);
    expect(await readFile(store.path('report.txt'), 'utf8')).toContain('Container "vfy-web", label "tier": "front" → "back".');

    const json = await cli('verify', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ differences: 1, summary: { blockers: 1 } });
  });

  it('after a run (not a rollback) expects the target driver and a clean configuration', async () => {
    const store = (await RunStore.openCurrent(stateDir))!;
    store.state.status = 'completed';
    await store.save();
    await mkdir(join(hostRoot, 'etc', 'sysconfig'), { recursive: true });
    await writeFile(join(hostRoot, 'etc', 'sysconfig', 'docker-storage'), 'DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/docker-thinpool"\n');
    const result = await cli('verify', '--json');
    expect(result.code).toBe(1);
    const blockersFound = (JSON.parse(result.stdout) as VerifyResult).entries.filter((e) => e.severity === 'blocker');
    // The rig daemon runs vfs, daemon.json says vfs, the sysconfig file still holds devicemapper
    // flags; and the changed file and label (the volume trees are compared after a run).
    expect(blockersFound.map((e) => e.key).sort()).toEqual(['verify-config-driver', 'verify-config-flag', 'verify-container-label', 'verify-driver', 'verify-volume-file']);
    expect(blockersFound.find((e) => e.key === 'verify-config-flag')!.details).toMatchObject({ path: '/etc/sysconfig/docker-storage' });
    expect(blockersFound.find((e) => e.key === 'verify-volume-file')!.details).toMatchObject({ item: 'numbers', what: 'content' });
  });
});
