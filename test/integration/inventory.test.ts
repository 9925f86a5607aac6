// `inventory` against the rig's real daemon: it must list exactly what the test created, with
// tags, labels, options, IPAM, aliases, static addresses, sizes and states.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Inventory } from '../../src/docker/types.js';
import { buildImage, docker, dockerTry, ensureDist, freePort, runCli, subnetFor } from '../rig/index.js';

const rig = inject('rig');
const daemon = rig.daemon;
const subnet = subnetFor(daemon, 20);
const net24 = subnet.replace(/\.0\/24$/, '');

const NAMES = {
  app: 'inv-test/app',
  tmp: 'inv-test/rebuilt:1',
  net: 'inv-test-net',
  data: 'inv-test-data',
  tmpfs: 'inv-test-tmpfs',
  nfs: 'inv-test-nfs',
  web: 'inv-test-web',
  job: 'inv-test-job',
};

let baseline: Inventory;
let after: Inventory;
let appId: string;
let danglingId: string;
let webPort: number;

async function inventoryJson(): Promise<Inventory> {
  const result = await runCli(['--docker-host', daemon.dockerHost, 'inventory', '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Inventory;
}

/** What is in `now` but not in `before`, by key. */
function added<T>(now: readonly T[], before: readonly T[], key: (item: T) => string): T[] {
  const old = new Set(before.map(key));
  return now.filter((item) => !old.has(key(item)));
}

async function createWorkload(): Promise<void> {
  appId = await buildImage(
    daemon,
    `${NAMES.app}:1.0`,
    `FROM ${rig.baseImage}\nLABEL org.example.app=inventory-test\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
    { 'index.html': 'inventory test\n' },
  );
  await docker(daemon, 'tag', `${NAMES.app}:1.0`, `${NAMES.app}:latest`);
  await docker(daemon, 'tag', `${NAMES.app}:1.0`, `registry.example.com:5000/inv-test/app:v1`);
  // Building a tag twice leaves the first image untagged (dangling).
  danglingId = await buildImage(daemon, NAMES.tmp, `FROM ${rig.baseImage}\nENV GENERATION=1\n`);
  await buildImage(daemon, NAMES.tmp, `FROM ${rig.baseImage}\nENV GENERATION=2\n`);

  await docker(daemon, 'volume', 'create', '--label', 'org.example.backup=daily', '--label', 'org.example.owner=ops', NAMES.data);
  await docker(
    daemon, 'volume', 'create', '--driver', 'local',
    '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=4m', '--label', 'org.example.kind=scratch', NAMES.tmpfs,
  );
  // Never mounted: creating an NFS volume does not contact the server.
  await docker(daemon, 'volume', 'create', '--opt', 'type=nfs', '--opt', 'o=addr=127.0.0.1,ro', '--opt', 'device=:/export', NAMES.nfs);

  await docker(
    daemon, 'network', 'create', '--subnet', subnet, '--gateway', `${net24}.1`, '--ip-range', `${net24}.128/25`,
    '--opt', 'com.docker.network.driver.mtu=1400', '--label', 'org.example.tier=front', NAMES.net,
  );

  webPort = await freePort();
  await docker(
    daemon, 'run', '-d', '--name', NAMES.web, '--restart', 'on-failure:3', '--stop-timeout', '7',
    '--network', NAMES.net, '--ip', `${net24}.10`, '--network-alias', 'web', '--network-alias', 'www',
    '-p', `127.0.0.1:${webPort}:8080`, '--label', 'org.example.role=web',
    '-v', `${NAMES.data}:/data`, '-v', `${NAMES.tmpfs}:/scratch`, `${NAMES.app}:1.0`,
  );
  // Stopped, with an anonymous volume, volumes-from and 5000 bytes in its writable layer.
  await docker(
    daemon, 'run', '--name', NAMES.job, '--label', 'org.example.role=job', '-v', '/cache',
    '--volumes-from', `${NAMES.web}:ro`, `${NAMES.app}:1.0`,
    'sh', '-c', 'echo done > /cache/out && head -c 5000 /dev/zero > /big',
  );
}

async function removeWorkload(): Promise<void> {
  await dockerTry(daemon, 'rm', '-f', '-v', NAMES.web, NAMES.job);
  await dockerTry(daemon, 'volume', 'rm', '-f', NAMES.data, NAMES.tmpfs, NAMES.nfs);
  await dockerTry(daemon, 'network', 'rm', NAMES.net);
  await dockerTry(daemon, 'rmi', '-f', `${NAMES.app}:1.0`, `${NAMES.app}:latest`, 'registry.example.com:5000/inv-test/app:v1', NAMES.tmp);
  if (danglingId) await dockerTry(daemon, 'rmi', '-f', danglingId);
}

beforeAll(async () => {
  await ensureDist();
  baseline = await inventoryJson();
  try {
    await createWorkload();
  } catch (error) {
    await removeWorkload();
    throw error;
  }
  after = await inventoryJson();
});

afterAll(async () => {
  await removeWorkload();
  // The shared daemon is back to what it was: later test files see the same host.
  const now = await inventoryJson();
  expect(now.containers.map((c) => c.name)).toEqual(baseline.containers.map((c) => c.name));
  expect(now.volumes.map((v) => v.name)).toEqual(baseline.volumes.map((v) => v.name));
  expect(now.networks.map((n) => n.name)).toEqual(baseline.networks.map((n) => n.name));
  expect(now.images.map((i) => i.id)).toEqual(baseline.images.map((i) => i.id));
});

describe('inventory --json on the rig daemon', () => {
  it('names the daemon and its storage driver', () => {
    expect(after.daemon.driver).toBe('vfs');
    expect(after.daemon.dockerRootDir).toBe(daemon.dataRoot);
    expect(after.daemon.apiVersion).toMatch(/^1\.\d+$/);
    expect(after.daemon.containers).toMatchObject({ total: baseline.daemon.containers.total + 2, running: baseline.daemon.containers.running + 1 });
  });

  it('lists the created images with every tag, and the untagged one as dangling', () => {
    const images = added(after.images, baseline.images, (i) => i.id);
    const rebuiltId = after.images.find((i) => i.tags.includes(NAMES.tmp))?.id;
    expect(images.map((i) => i.id).sort()).toEqual([appId, danglingId, rebuiltId].sort());
    const app = images.find((i) => i.id === appId)!;
    expect(app.tags).toEqual([`${NAMES.app}:1.0`, `${NAMES.app}:latest`, 'registry.example.com:5000/inv-test/app:v1']);
    expect(app.dangling).toBe(false);
    expect(app.repoDigests).toEqual([]);
    expect(app.size).toBeGreaterThan(1_000_000);
    const dangling = images.find((i) => i.id === danglingId)!;
    expect(dangling).toMatchObject({ tags: [], dangling: true });
    expect(after.images.find((i) => i.tags.includes(rig.baseImage))?.id).toBe(rig.baseImageId);
  });

  it('lists the running container with its network, static address, aliases, mounts, policy and stop timeout', () => {
    const containers = added(after.containers, baseline.containers, (c) => c.name);
    expect(containers.map((c) => c.name)).toEqual([NAMES.job, NAMES.web]);
    const web = containers.find((c) => c.name === NAMES.web)!;
    expect(web).toMatchObject({
      image: `${NAMES.app}:1.0`,
      imageId: appId,
      state: 'running',
      running: true,
      autoRemove: false,
      restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
      networkMode: NAMES.net,
      links: [],
      volumesFrom: [],
      labels: { 'org.example.app': 'inventory-test', 'org.example.role': 'web' },
      stopTimeout: 7,
    });
    expect(web.networks).toHaveLength(1);
    expect(web.networks[0]).toMatchObject({ name: NAMES.net, aliases: ['web', 'www'], staticIPv4: `${net24}.10`, ipAddress: `${net24}.10` });
    expect(web.networks[0]!.aliases).not.toContain(web.id.slice(0, 12));
    expect(web.mounts.map((m) => [m.type, m.name, m.destination, m.rw])).toEqual([
      ['volume', NAMES.data, '/data', true],
      ['volume', NAMES.tmpfs, '/scratch', true],
    ]);
    expect(web.sizeRw).toBeGreaterThanOrEqual(0);
  });

  it('lists the stopped container with its anonymous volume, volumes-from and writable layer size', () => {
    const job = after.containers.find((c) => c.name === NAMES.job)!;
    expect(job).toMatchObject({ state: 'exited', running: false, volumesFrom: [`${NAMES.web}:ro`], networkMode: 'default' });
    expect(job.sizeRw).toBeGreaterThanOrEqual(5000);
    // No --stop-timeout: none recorded (the engine's default applies, and the estimate takes it).
    expect(job.stopTimeout).toBeUndefined();
    const anonymous = job.mounts.find((m) => m.destination === '/cache');
    expect(anonymous?.name).toMatch(/^[0-9a-f]{64}$/);
    expect(job.mounts.filter((m) => m.destination !== '/cache').map((m) => [m.name, m.rw])).toEqual([
      [NAMES.data, false],
      [NAMES.tmpfs, false],
    ]);
  });

  it('lists the volumes with driver, options, labels, users, size and kind', () => {
    const volumes = added(after.volumes, baseline.volumes, (v) => v.name);
    const anonymousName = after.containers.find((c) => c.name === NAMES.job)!.mounts.find((m) => m.destination === '/cache')!.name!;
    expect(volumes.map((v) => v.name)).toEqual([anonymousName, NAMES.data, NAMES.nfs, NAMES.tmpfs].sort());
    const byName = Object.fromEntries(volumes.map((v) => [v.name, v]));
    expect(byName[NAMES.data]).toMatchObject({
      driver: 'local',
      options: {},
      labels: { 'org.example.backup': 'daily', 'org.example.owner': 'ops' },
      usedBy: [NAMES.job, NAMES.web],
      anonymous: false,
      remote: false,
      mountpoint: `${daemon.dataRoot}/volumes/${NAMES.data}/_data`,
    });
    expect(byName[NAMES.data]!.size).toBeGreaterThanOrEqual(0);
    expect(byName[NAMES.tmpfs]).toMatchObject({
      driver: 'local',
      options: { device: 'tmpfs', o: 'size=4m', type: 'tmpfs' },
      labels: { 'org.example.kind': 'scratch' },
      usedBy: [NAMES.job, NAMES.web],
      anonymous: false,
      remote: false,
    });
    expect(byName[NAMES.nfs]).toMatchObject({ options: { type: 'nfs', o: 'addr=127.0.0.1,ro', device: ':/export' }, usedBy: [], remote: true });
    expect(byName[anonymousName]).toMatchObject({ anonymous: true, usedBy: [NAMES.job], remote: false });
  });

  it('lists the user-defined network with IPAM, options and labels, and no predefined one', () => {
    const networks = added(after.networks, baseline.networks, (n) => n.name);
    expect(networks).toHaveLength(1);
    expect(networks[0]).toMatchObject({
      name: NAMES.net,
      driver: 'bridge',
      internal: false,
      attachable: false,
      ipam: { driver: 'default', config: [{ subnet, gateway: `${net24}.1`, ipRange: `${net24}.128/25` }] },
      options: { 'com.docker.network.driver.mtu': '1400' },
      labels: { 'org.example.tier': 'front' },
    });
    expect(after.networks.map((n) => n.name)).not.toContain('bridge');
  });

  it('is sorted deterministically: two captures of an unchanged host are equal', async () => {
    const again = await inventoryJson();
    expect({ ...again, capturedAt: '' }).toEqual({ ...after, capturedAt: '' });
  });

  it('publishes the running container on 127.0.0.1 (the rig works as tests need)', async () => {
    const response = await fetch(`http://127.0.0.1:${webPort}/`);
    expect(await response.text()).toBe('inventory test\n');
  });
});

describe('inventory as text', () => {
  it('prints tables with human sizes and exits 0', async () => {
    const result = await runCli(['--docker-host', daemon.dockerHost, 'inventory']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^IMAGES \(\d+, [\d.]+ MB; [\d.]+ MB of layers, each once\)$/m);
    expect(result.stdout).toMatch(new RegExp(`^${NAMES.web}\\s+running\\s+${NAMES.app}:1\\.0\\s+on-failure:3\\s+${NAMES.net} \\(${net24}\\.10 static, alias web, alias www\\)`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^${NAMES.job}\\s+exited\\b`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^${NAMES.nfs}\\s+local\\b.*remote`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^${NAMES.net}\\s+bridge\\s+${subnet.replace(/\./g, '\\.')} gw ${net24}\\.1 range`, 'm'));
  });
});

describe('inventory without a daemon', () => {
  it('exits non-zero naming the socket it tried, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmm-nodaemon-'));
    try {
      const socket = join(dir, 'docker.sock');
      const result = await runCli(['--docker-host', `unix://${socket}`, 'inventory']);
      expect(result.code).toBe(4);
      expect(result.stderr).toContain(socket);
      expect(result.stderr).toMatch(/Start Docker, or pass --docker-host/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says the same through DOCKER_HOST, and --json carries the error as JSON', async () => {
    const result = await runCli(['inventory', '--json'], { DOCKER_HOST: 'unix:///nonexistent/dmm/docker.sock' });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('/nonexistent/dmm/docker.sock');
    const parsed = JSON.parse(result.stdout) as { error: { message: string; remedy: string } };
    expect(parsed.error.message).toContain('/nonexistent/dmm/docker.sock');
  });
});
