// The cutover's building blocks against a real dockerd of the rig, through the `command`
// service manager and the rig's own start.sh/stop.sh: stop the daemon, keep its data-root,
// carry the volumes by rename, rewrite the config to overlay2, start; then the undo path.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteDaemonConfig } from '../../src/config/daemon-config-rewrite.js';
import { parseDaemonJson } from '../../src/config/daemon-json.js';
import {
  carryPlanFor,
  carryVolumes,
  carryVolumesBack,
  keepDataRoot,
  planKeepDataRoot,
  restoreDataRoot,
  type CarriedVolumes,
  type KeptDataRoot,
} from '../../src/host/data-root.js';
import { NodeHost } from '../../src/host/node-host.js';
import { DaemonStartError, detectServiceManager, startDocker, stopDocker, type ServiceManager } from '../../src/host/service-manager.js';
import { apiJson, ping } from '../rig/api.js';
import { BASE_IMAGE, docker, seedBaseImage, startDockerd, type DaemonHandle } from '../rig/index.js';

const host = new NodeHost('/');
let daemon: DaemonHandle;
let manager: ServiceManager;
let originalConfig: string;

const VOLUME = 'cutover-data';
const CONTAINER = 'cutover-writer';
const volumeFile = (dataRoot: string) => `${dataRoot}/volumes/${VOLUME}/_data/sub/file.txt`;

interface Info {
  Driver: string;
  DockerRootDir: string;
}

/** The daemon answers /_ping, each attempt with its own short timeout. */
const answers = () => ping(daemon.socketPath, 1_000);

async function stop(): Promise<void> {
  await stopDocker(host, manager, { timeoutSeconds: 120, answers, pidFile: daemon.pidFile });
}

async function start(): Promise<void> {
  await startDocker(host, manager, { timeoutSeconds: 120, ping: answers, pidFile: daemon.pidFile, logFile: daemon.logFile });
}

/** Rewrites the rig daemon's config file as the cutover rewrites daemon.json. */
async function rewriteConfig(target: Parameters<typeof rewriteDaemonConfig>[1]): Promise<void> {
  const parsed = parseDaemonJson(originalConfig);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const rewrite = rewriteDaemonConfig(parsed.value, target);
  await host.writeFile(daemon.configFile, rewrite.text);
}

/** The undo path, in journal order (newest first): config, volumes, data-root; then start. */
async function undo(kept: KeptDataRoot, carried: CarriedVolumes): Promise<void> {
  if (await answers()) await stop();
  await host.writeFile(daemon.configFile, originalConfig);
  await carryVolumesBack(host, carried);
  await restoreDataRoot(host, kept);
  await start();
}

function processGone(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return true;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
}

beforeAll(async () => {
  daemon = await startDockerd({ name: 'cutover', storageDriver: 'vfs' });
  await seedBaseImage(daemon);
  await docker(daemon, 'volume', 'create', '--label', 'org.example.owner=ops', VOLUME);
  await docker(daemon, 'run', '--name', CONTAINER, '-v', `${VOLUME}:/data`, BASE_IMAGE, 'sh', '-c', 'mkdir -p /data/sub && echo precious > /data/sub/file.txt');
  originalConfig = readFileSync(daemon.configFile, 'utf8');
  manager = await detectServiceManager(host, { manager: 'command', stop: `bash ${daemon.stopScript}`, start: `bash ${daemon.startScript}` });
});

afterAll(async () => {
  await daemon?.stop();
});

describe('cutover from vfs to overlay2 and back', () => {
  let kept: KeptDataRoot;
  let carried: CarriedVolumes;
  let before: { root: number; file: number };

  it('stops, keeps the data-root, carries the volumes without copying, and starts on overlay2', async () => {
    expect((await apiJson<Info>(daemon.socketPath, '/info')).Driver).toBe('vfs');
    before = { root: statSync(daemon.dataRoot).ino, file: statSync(volumeFile(daemon.dataRoot)).ino };
    const pid = daemon.pid;

    await stop();
    expect(processGone(pid)).toBe(true);
    expect(await answers()).toBe(false);

    kept = await planKeepDataRoot(host, { dataRoot: daemon.dataRoot, runId: 'it1' });
    expect(kept.method).toBe('sibling');
    await keepDataRoot(host, kept);
    carried = await carryPlanFor(host, kept);
    expect(carried.method).toBe('rename');
    await carryVolumes(host, carried);
    await rewriteConfig({ driver: 'overlay2' });
    await start();

    const info = await apiJson<Info>(daemon.socketPath, '/info');
    expect(info.Driver).toBe('overlay2');
    // The old data-root is where the plan says, the very same directory.
    expect(kept.keptPath).toBe(`${daemon.dataRoot}.devmapper-migrate-it1`);
    expect(statSync(kept.keptPath).ino).toBe(before.root);
    expect(existsSync(`${kept.keptPath}/vfs`)).toBe(true);
    // The volume's files were renamed along, not copied.
    expect(statSync(volumeFile(daemon.dataRoot)).ino).toBe(before.file);
    // The new daemon lists the volume with its labels, and its data reads back.
    expect(await docker(daemon, 'volume', 'inspect', '--format', '{{json .Labels}}', VOLUME)).toBe('{"org.example.owner":"ops"}');
    await seedBaseImage(daemon);
    expect(await docker(daemon, 'run', '--rm', '-v', `${VOLUME}:/data`, BASE_IMAGE, 'cat', '/data/sub/file.txt')).toBe('precious');
    // A container writes after the cutover: rollback must bring this back too.
    await docker(daemon, 'run', '--rm', '-v', `${VOLUME}:/data`, BASE_IMAGE, 'sh', '-c', 'echo later > /data/after.txt');
    expect(await docker(daemon, 'ps', '-a', '--format', '{{.Names}}')).toBe('');
  });

  it('undoes it: config, volumes and data-root back, the daemon on vfs with its container', async () => {
    await undo(kept, carried);
    const info = await apiJson<Info>(daemon.socketPath, '/info');
    expect(info.Driver).toBe('vfs');
    expect(statSync(daemon.dataRoot).ino).toBe(before.root);
    expect(statSync(volumeFile(daemon.dataRoot)).ino).toBe(before.file);
    expect(readFileSync(`${daemon.dataRoot}/volumes/${VOLUME}/_data/after.txt`, 'utf8')).toBe('later\n');
    expect(await docker(daemon, 'ps', '-a', '--format', '{{.Names}}')).toBe(CONTAINER);
    expect(await docker(daemon, 'volume', 'ls', '--format', '{{.Name}}')).toBe(VOLUME);
    // The target's data-root is kept aside, not deleted.
    expect(existsSync(`${kept.keptPath}.target/overlay2`)).toBe(true);
    expect(readFileSync(daemon.configFile, 'utf8')).toBe(originalConfig);
  });
});

describe('a start on the target that fails', () => {
  it("reports dockerd's own words, and the undo brings the old daemon back", async () => {
    await stop();
    const kept = await planKeepDataRoot(host, { dataRoot: daemon.dataRoot, runId: 'it2' });
    await keepDataRoot(host, kept);
    const carried = await carryPlanFor(host, kept);
    await carryVolumes(host, carried);
    // overlay2.size needs xfs with pquota: on this ext4, dockerd refuses to start (PITFALLS 15).
    await rewriteConfig({ driver: 'overlay2', storageOpts: ['overlay2.size=1G'] });
    const error = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonStartError);
    expect((error as DaemonStartError).failure).toBe('start-command-failed');
    expect((error as DaemonStartError).message).toMatch(/overlay2\.size|project quota|Storage option/i);

    await undo(kept, carried);
    expect((await apiJson<Info>(daemon.socketPath, '/info')).Driver).toBe('vfs');
    expect(await docker(daemon, 'ps', '-a', '--format', '{{.Names}}')).toBe(CONTAINER);
    expect(readFileSync(volumeFile(daemon.dataRoot), 'utf8')).toBe('precious\n');
  });
});
