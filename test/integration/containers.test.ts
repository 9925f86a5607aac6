// Containers, networks and volumes captured on one real daemon and recreated on a fresh one:
// the recreated containers must match the originals field by field (as the contract lists
// them), run when they ran, and carry the files changed in their writable layers.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/client.js';
import {
  inspectContainers,
  recreateContainer,
  startContainers,
  stopContainers,
  type ContainerInspect,
  type StopResult,
} from '../../src/docker/containers.js';
import { collectInventory } from '../../src/docker/inventory.js';
import { createNetwork } from '../../src/docker/networks.js';
import type { Inventory } from '../../src/docker/types.js';
import { createVolume } from '../../src/docker/volumes.js';
import { captureWritableLayer, restoreWritableLayer, type LayerCapture } from '../../src/docker/writable-layer.js';
import { OperatorError } from '../../src/errors.js';
import { orderableOf, startOrder, stopWaves } from '../../src/plan/container-order.js';
import { normalize } from '../rig/container-shape.js';
import { BASE_IMAGE, buildImage, docker, dockerWith, freePort, seedBaseImage, startDockerd, subnetFor, type DaemonHandle } from '../rig/index.js';
import { copyJson } from '../../src/json-copy.js';

const APP = 'ctr-test/app:1';

let source: DaemonHandle | undefined;
let target: DaemonHandle | undefined;
let work: string;
let port: number;
let staticIp: string;

let inventory: Inventory;
let before: ContainerInspect[];
let wasRunning: string[];
const stopResults: Record<string, StopResult>[] = [];
const layers = new Map<string, LayerCapture>();
const notes: string[] = [];
let targetApi: Docker;
const newIds = new Map<string, string>();

const nameOf = (inspect: ContainerInspect) => inspect.Name.replace(/^\//, '');

async function createWorkload(daemon: DaemonHandle, subnet: string): Promise<void> {
  const d = (...args: string[]) => docker(daemon, ...args);
  await seedBaseImage(daemon);
  await buildImage(daemon, APP, `FROM ${BASE_IMAGE}\nENV IMGVAR=fromimage\nWORKDIR /srv\nLABEL img.label=one\nCMD ["sleep","3600"]\n`);
  await d('network', 'create', '--subnet', subnet, '--gateway', subnet.replace(/0\/24$/, '1'), '--label', 'net.l=1', 'ctr-appnet');
  // No subnet: the daemon picks one; it is recreated explicitly.
  await d('network', 'create', '--label', 'tier=back', 'ctr-back');
  await d('volume', 'create', '--label', 'v=1', 'ctr-data');
  await d(
    'run', '-d', '--name', 'web', '--network', 'ctr-appnet', '--ip', staticIp, '--network-alias', 'www',
    '-p', `127.0.0.1:${port}:80`, '-e', 'FOO=bar', '-l', 'app=web',
    '-l', 'com.docker.compose.project=demo', '-l', 'com.docker.compose.service=web',
    '--restart', 'unless-stopped', '-m', '64m', '-v', 'ctr-data:/data', '-v', '/anon',
    APP, 'sh', '-c', 'echo hello-web > /srv/index.html && exec httpd -f -p 80 -h /srv',
  );
  await d('run', '-d', '--name', 'two', '--network', 'ctr-appnet', '-u', '0:0', '--cpus', '0.5', '--pids-limit', '64', APP);
  await d('network', 'connect', '--alias', 'backtwo', 'ctr-back', 'two');
  await d('run', '-d', '--name', 'side', '--network', 'container:web', APP);
  await d('run', '--name', 'stopped', '--restart', 'on-failure:3', APP, 'true');
  await d('create', '--name', 'never', '-e', 'ONLY=created', '-w', '/tmp', APP, 'echo', 'hi');
  await d('run', '-d', '--name', 'db', '-v', 'ctr-dbdata:/var/lib/db', APP);
  await d('run', '-d', '--name', 'client', '--link', 'db:database', '--volumes-from', 'db:ro', APP);
  await d('run', '-d', '--name', 'layer', '-v', 'ctr-layervol:/vol', APP);
  await d(
    'exec', 'layer', 'sh', '-c',
    'echo added > /srv/new.txt && echo changed >> /etc/passwd && mkdir -p /opt/d && echo x > /opt/d/f && ' +
      'chmod 0600 /opt/d/f && ln -s /opt/d/f /opt/link && rm /usr/bin/wc && echo in-volume > /vol/x',
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-containers-'));
  [source, target] = await Promise.all([
    startDockerd({ name: 'containers-source', storageDriver: 'vfs' }),
    startDockerd({ name: 'containers-target', storageDriver: 'overlay2' }),
  ]);
  // Addresses from the target's range: the source goes away before the target uses them.
  const subnet = subnetFor(target, 1);
  staticIp = subnet.replace(/0\/24$/, '10');
  port = await freePort();
  await createWorkload(source, subnet);

  // Export, as the run does it: inventory and inspects while running, stop in order, keep layers, save images.
  const sourceClient = await connectDocker(source.dockerHost);
  const api = sourceClient.api;
  inventory = await collectInventory(sourceClient);
  before = await inspectContainers(api, inventory.containers.map((c) => c.id));
  wasRunning = before.filter((c) => c.State.Running).map(nameOf);
  const running = before.filter((c) => c.State.Running).map(orderableOf);
  stopResults.push(await stopContainers(api, stopWaves(running), 5));
  stopResults.push(await stopContainers(api, stopWaves(running), 5));
  for (const inspect of before) {
    layers.set(nameOf(inspect), await captureWritableLayer(api, inspect.Id, join(work, `${nameOf(inspect)}.tar`)));
  }
  await dockerWith(source, ['save', '-o', join(work, 'images.tar'), APP, BASE_IMAGE]);
  await source.stop();
  source = undefined;

  // Restore on the fresh daemon: images, networks, volumes, containers (dependencies first), layers, start.
  const targetClient = await connectDocker(target.dockerHost);
  targetApi = targetClient.api;
  await dockerWith(target, ['load', '-i', join(work, 'images.tar')]);
  for (const network of inventory.networks) await createNetwork(targetApi, network);
  for (const volume of inventory.volumes) await createVolume(targetApi, volume);
  const containerNames = Object.fromEntries(before.map((c) => [c.Id, nameOf(c)]));
  const byName = new Map(before.map((c) => [nameOf(c), c]));
  for (const name of startOrder(before.map(orderableOf))) {
    const id = await recreateContainer(targetApi, byName.get(name) as ContainerInspect, { containerNames, onNote: (note) => notes.push(note) });
    newIds.set(name, id);
    await restoreWritableLayer(targetApi, id, join(work, `${name}.tar`));
  }
  await startContainers(targetApi, startOrder(running));
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([source?.stop(), target?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

describe('export on the source daemon', () => {
  it('stops running containers in order, and a second stop is harmless', () => {
    expect(Object.keys(stopResults[0] ?? {}).sort()).toEqual([...wasRunning].sort());
    expect(Object.values(stopResults[0] ?? {}).every((r) => r === 'stopped')).toBe(true);
    expect(Object.values(stopResults[1] ?? {}).every((r) => r === 'already-stopped')).toBe(true);
    const order = Object.keys(stopResults[0] ?? {});
    expect(order.indexOf('side')).toBeLessThan(order.indexOf('web'));
    expect(order.indexOf('client')).toBeLessThan(order.indexOf('db'));
  });

  it('keeps the added and changed files of a stopped container, and reports the deleted one', () => {
    const layer = layers.get('layer') as LayerCapture;
    expect(layer.archived).toEqual(['/etc/passwd', '/opt', '/srv/new.txt']);
    expect(layer.deleted).toEqual(['/usr/bin/wc']);
    expect(layer.added).toBeGreaterThanOrEqual(4);
    expect(layer.changed).toBe(1);
    expect(layer.sha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(join(work, 'layer.tar.partial'))).toBe(false);
    const listing = execFileSync('tar', ['-tvf', join(work, 'layer.tar')], { encoding: 'utf8' });
    expect(listing).toMatch(/ srv\/new\.txt\n/);
    expect(listing).toMatch(/ opt\/link -> \/opt\/d\/f\n/);
    expect(listing).not.toMatch(/vol\//);
    expect(layer.skipped).toContain('/vol');
  });

  it('writes an empty archive for a container that changed nothing', () => {
    const never = layers.get('never') as LayerCapture;
    expect(never.archived).toEqual([]);
    expect(never.bytes).toBe(1024);
  });
});

describe('restore on a fresh daemon', () => {
  it('recreates every container with the same configuration, state and names', async () => {
    const after = await inspectContainers(targetApi, [...newIds.values()]);
    const oldNames = new Map(before.map((c) => [c.Id, nameOf(c)]));
    const newNames = new Map(after.map((c) => [c.Id, nameOf(c)]));
    const recreated = new Map(after.map((c) => [nameOf(c), normalize(c, newNames)]));
    expect([...recreated.keys()].sort()).toEqual(before.map(nameOf).sort());
    for (const original of before) {
      const name = nameOf(original);
      expect(recreated.get(name), name).toEqual(normalize(original, oldNames));
    }
    expect(after.filter((c) => c.State.Running).map(nameOf).sort()).toEqual([...wasRunning].sort());
  });

  it('keeps the static address, the alias and the published port working', async () => {
    const web = (await targetApi.getContainer('web').inspect()) as unknown as ContainerInspect;
    expect(web.NetworkSettings?.Networks?.['ctr-appnet']?.IPAddress).toBe(staticIp);
    const response = await fetch(`http://127.0.0.1:${port}/index.html`);
    expect((await response.text()).trim()).toBe('hello-web');
    expect((await docker(target as DaemonHandle, 'exec', 'side', 'wget', '-qO-', 'http://127.0.0.1/index.html')).trim()).toBe('hello-web');
    expect((await docker(target as DaemonHandle, 'exec', 'two', 'wget', '-qO-', 'http://www/index.html')).trim()).toBe('hello-web');
  });

  it('connects the second network (API 1.41 takes one at create) with its alias', async () => {
    const two = (await targetApi.getContainer('two').inspect()) as unknown as ContainerInspect;
    expect(Object.keys(two.NetworkSettings?.Networks ?? {}).sort()).toEqual(['ctr-appnet', 'ctr-back']);
    expect(two.NetworkSettings?.Networks?.['ctr-back']?.Aliases).toContain('backtwo');
  });

  it('pins anonymous volumes to their old names', async () => {
    const oldAnon = before.find((c) => nameOf(c) === 'web')?.Mounts?.find((m) => m.Destination === '/anon')?.Name;
    const web = (await targetApi.getContainer('web').inspect()) as unknown as ContainerInspect;
    expect(web.Mounts?.find((m) => m.Destination === '/anon')?.Name).toBe(oldAnon);
    expect(notes.join('\n')).toMatch(/web: anonymous volume\(s\) pinned/);
  });

  it('puts the writable layer back: added, changed, mode and symlink; the deleted file stays', async () => {
    const t = target as DaemonHandle;
    expect(await docker(t, 'exec', 'layer', 'cat', '/srv/new.txt')).toBe('added');
    expect((await docker(t, 'exec', 'layer', 'cat', '/etc/passwd')).split('\n').at(-1)).toBe('changed');
    expect(await docker(t, 'exec', 'layer', 'stat', '-c', '%a %U', '/opt/d/f')).toBe('600 root');
    expect(await docker(t, 'exec', 'layer', 'cat', '/opt/d/f')).toBe('x');
    expect(await docker(t, 'exec', 'layer', 'readlink', '/opt/link')).toBe('/opt/d/f');
    expect(await docker(t, 'exec', 'layer', 'sh', '-c', 'test -e /usr/bin/wc && echo present')).toBe('present');
    // Volume contents travel with the volume, never inside the layer archive.
    expect(await docker(t, 'exec', 'layer', 'sh', '-c', 'test -e /vol/x && echo leaked || echo absent')).toBe('absent');
  });

  it('is idempotent for resume: networks, volumes, containers, starts', async () => {
    for (const network of inventory.networks) expect(await createNetwork(targetApi, network)).toMatch(/^[0-9a-f]{64}$/);
    for (const volume of inventory.volumes) expect(await createVolume(targetApi, volume)).toBe(volume.name);
    const web = before.find((c) => nameOf(c) === 'web') as ContainerInspect;
    const containerNames = Object.fromEntries(before.map((c) => [c.Id, nameOf(c)]));
    expect(await recreateContainer(targetApi, web, { containerNames })).toBe(newIds.get('web'));
    const again = await startContainers(targetApi, wasRunning);
    expect(Object.values(again).every((r) => r === 'already-running')).toBe(true);
  });

  it('refuses a different network, volume or container already holding the name', async () => {
    const network = inventory.networks.find((n) => n.name === 'ctr-appnet');
    expect(network).toBeDefined();
    await expect(createNetwork(targetApi, { ...network!, labels: { other: 'x' } })).rejects.toThrow(OperatorError);
    const volume = inventory.volumes.find((v) => v.name === 'ctr-data');
    await expect(createVolume(targetApi, { ...volume!, labels: {} })).rejects.toThrow(/different configuration: labels/);
    await docker(target as DaemonHandle, 'create', '--name', 'impostor', BASE_IMAGE, 'true');
    const web = copyJson(before.find((c) => nameOf(c) === 'web') as ContainerInspect);
    web.Name = '/impostor';
    await expect(recreateContainer(targetApi, web, { containerNames: { [web.Id]: 'impostor' } })).rejects.toThrow(/already exists on this daemon, from another image/);
  });
});
