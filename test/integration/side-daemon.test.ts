// The side daemon (src/host/side-daemon.ts) beside a serving rig daemon: a private dockerd of
// the rig's engine on a data-root of its own. It must come up on its own socket with the
// storage it was given, leave the host's daemon, its containers and the host's network alone,
// and once stopped leave no process, mount or socket behind.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHost } from '../../src/host/node-host.js';
import { sideDaemonLayout, startSideDaemon, stopSideDaemon, type SideDaemonSpec } from '../../src/host/side-daemon.js';
import { apiJson, ping } from '../rig/api.js';
import { BASE_IMAGE, docker, run, seedBaseImage, startDockerd, DOCKERD, type DaemonHandle } from '../rig/index.js';

const host = new NodeHost('/');
let daemon: DaemonHandle;
let spec: SideDaemonSpec;

const links = async () => (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((line) => line.split(':')[1]?.trim() ?? '').filter(Boolean).sort();
const mountsUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4]?.startsWith(dir));
const processesNaming = async (dir: string) => (await run('pgrep', ['-f', '--', dir])).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  daemon = await startDockerd({ name: 'side-daemon-host', storageDriver: 'vfs' });
  await seedBaseImage(daemon);
  await docker(daemon, 'run', '-d', '--name', 'serving', BASE_IMAGE, 'sleep', '3600');
  // Inside the rig daemon's directory: its teardown (and the sweeper) kills what names it.
  const runtimeDir = join(daemon.dir, 'side');
  mkdirSync(join(daemon.dir, 'side-root'));
  spec = { name: 'staging', runId: 'r1', runtimeDir, dockerd: DOCKERD, dataRoot: join(daemon.dir, 'side-root'), storageDriver: 'vfs', storageOpts: [] };
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
}, 180_000);

describe('a side daemon beside the host’s', () => {
  const layout = () => sideDaemonLayout(spec);
  const answers = () => ping(layout().socketPath, 1_000);
  let linksBefore: string[] = [];

  it('comes up on its own socket and data-root with the storage it was given', async () => {
    linksBefore = await links();
    await startSideDaemon(host, spec, { timeoutSeconds: 60, ping: answers });
    const info = await apiJson<{ Driver: string; DockerRootDir: string; Containers: number }>(layout().socketPath, '/info');
    expect(info).toMatchObject({ Driver: 'vfs', DockerRootDir: spec.dataRoot, Containers: 0 });
    expect(JSON.parse(readFileSync(layout().configFile, 'utf8'))).toEqual({ 'storage-driver': 'vfs' });
  }, 120_000);

  it('leaves the host’s daemon serving, its container running, and adds no network link', async () => {
    expect(await ping(daemon.socketPath)).toBe(true);
    const serving = await apiJson<{ State: { Running: boolean } }>(daemon.socketPath, '/containers/serving/json');
    expect(serving.State.Running).toBe(true);
    expect(await links()).toEqual(linksBefore);
  });

  it('stops, leaving no process, mount or socket behind', async () => {
    await stopSideDaemon(host, spec, { timeoutSeconds: 60, answers });
    expect(await answers()).toBe(false);
    expect(existsSync(layout().socketPath)).toBe(false);
    expect(await processesNaming(layout().dir + '/')).toEqual([]);
    expect(mountsUnder(layout().dir)).toEqual([]);
    expect(mountsUnder(spec.dataRoot)).toEqual([]);
    expect(await ping(daemon.socketPath)).toBe(true);
  }, 120_000);

  it('is a start error with the end of its log when dockerd refuses its storage', async () => {
    const refused = { ...spec, name: 'refused', storageDriver: 'no-such-driver' };
    const error = await startSideDaemon(host, refused, { timeoutSeconds: 60, ping: () => ping(sideDaemonLayout(refused).socketPath, 1_000) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/no-such-driver|graphdriver/);
    expect(await processesNaming(sideDaemonLayout(refused).dir + '/')).toEqual([]);
  }, 120_000);
});
