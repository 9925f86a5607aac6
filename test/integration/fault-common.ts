// Shared by the fault tests (test/integration/fault-*.test.ts, secrets.test.ts): a rig dockerd
// on vfs with a small workload whose containers stop at once on SIGTERM, the CLI driven against
// it with an answers file (the `command` service manager with the rig's start.sh/stop.sh), and
// the host compared with the test's own snapshot (test/rig/snapshot.ts), never the tool's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { BASE_IMAGE, buildImage, docker, runCli, seedBaseImage, startDockerd, subnetFor, type DaemonHandle, type RunResult } from '../rig/index.js';
import { hostSnapshot, type HostSnapshot } from '../rig/snapshot.js';

export const APP = 'fault/app:1';
export const VOLUME = 'fault-data';
export const NETWORK = 'fault-net';

/** PID 1 leaves at once on SIGTERM (busybox sh runs the trap after the current `sleep 1`). */
export const QUICK_STOP_CMD = `CMD ["sh","-c","trap 'exit 0' TERM; while :; do sleep 1; done"]`;

export interface FaultRig {
  daemon: DaemonHandle;
  /** A private temp dir: answers files, state dirs, mounts. Deleted by tearDown(). */
  work: string;
  stateDir: string;
  answersPath: string;
  /** The host before any run. */
  before: HostSnapshot;
}

export interface WorkloadOptions {
  /** Extra `docker run` arguments for the container fault-web (e.g. a port binding). */
  webArgs?: string[];
}

/** Two images (one with two tags), a network, a volume with files, two running containers (one with a changed writable layer), one created; and the rollback traps. */
export async function createWorkload(daemon: DaemonHandle, options: WorkloadOptions = {}): Promise<void> {
  const d = (...args: string[]) => docker(daemon, ...args);
  await seedBaseImage(daemon);
  // One instruction: the classic builder keeps an intermediate image per instruction, which
  // `docker images -a` (the snapshot) lists but no migration carries (they are no images of
  // the inventory: GET /images/json leaves them out).
  await buildImage(daemon, APP, `FROM ${BASE_IMAGE}\n${QUICK_STOP_CMD}\n`);
  await d('tag', APP, 'fault/app:latest');
  // An explicit gateway: dockerd fills a missing one in when it restarts, which would look like a change.
  const subnet = subnetFor(daemon, 1);
  await d('network', 'create', '--subnet', subnet, '--gateway', subnet.replace(/0\/24$/, '1'), '--label', 'fault=1', NETWORK);
  await d('volume', 'create', '--label', 'fault=1', VOLUME);
  await d('run', '--rm', '-v', `${VOLUME}:/data`, BASE_IMAGE, 'sh', '-c', 'mkdir -p /data/sub && echo precious > /data/file.txt && seq 1 2000 > /data/sub/numbers.txt && ln -s file.txt /data/link');
  await d('run', '-d', '--name', 'fault-web', '--network', NETWORK, '-v', `${VOLUME}:/data`, '--restart', 'unless-stopped', ...(options.webArgs ?? []), APP);
  await d('run', '-d', '--name', 'fault-worker', '-e', 'ROLE=worker', 'fault/app:latest');
  await d('exec', 'fault-worker', 'sh', '-c', 'echo layer > /root/layer.txt');
  await d('create', '--name', 'fault-idle', APP);
  await addRollbackTraps(daemon);
}

export const PLAIN_NETWORK = 'plain-net';
export const CRASHED = 'crashed';
/** The tag whose first build is left untagged (dangling) by the second. */
export const REBUILT = 'rebuilt/app:1';

/**
 * What trips a rollback on ordinary hosts (issue 24), added to every workload whose rollback is
 * tested: a network created with a subnet and no gateway (dockerd shows the default gateway
 * only after a restart), an untagged image (pushed under a tag of its ID when images.push is
 * on), and a stopped `on-failure` container: `docker stop` ended it with exit 3, and dockerd
 * starts such a container again whenever dockerd itself starts.
 */
export async function addRollbackTraps(daemon: DaemonHandle): Promise<void> {
  const d = (...args: string[]) => docker(daemon, ...args);
  await d('network', 'create', '--subnet', subnetFor(daemon, 2), '--label', 'subnet-only=1', PLAIN_NETWORK);
  await buildImage(daemon, REBUILT, `FROM ${BASE_IMAGE}\nLABEL build=first\n`);
  await buildImage(daemon, REBUILT, `FROM ${BASE_IMAGE}\nLABEL build=second\n`);
  await d('run', '-d', '--name', CRASHED, '--restart', 'on-failure', '--network', PLAIN_NETWORK, BASE_IMAGE, 'sh', '-c', "trap 'exit 3' TERM; while :; do sleep 1; done");
  await d('stop', CRASHED);
}

/** Writes an answers file for the rig (overlay2, volumes archived, service through start.sh/stop.sh) plus `extra` YAML. */
export function writeAnswers(rig: Pick<FaultRig, 'daemon' | 'answersPath'>, options: { start?: string; timeoutSeconds?: number; extra?: string } = {}): void {
  writeFileSync(
    rig.answersPath,
    [
      'target: overlay2',
      'volumes:',
      '  archive: true',
      'service:',
      '  manager: command',
      `  stop: bash ${rig.daemon.stopScript}`,
      `  start: ${JSON.stringify(options.start ?? `bash ${rig.daemon.startScript}`)}`,
      `  timeoutSeconds: ${options.timeoutSeconds ?? 120}`,
      options.extra ?? '',
      '',
    ].join('\n'),
  );
}

/** A rig daemon with the workload, its snapshot, and an answers file. */
export async function setUpRig(name: string, options: WorkloadOptions = {}): Promise<FaultRig> {
  const work = mkdtempSync(join(tmpdir(), `dmm-${name}-`));
  let daemon: DaemonHandle | undefined;
  try {
    daemon = await startDockerd({ name, storageDriver: 'vfs' });
    const rig: FaultRig = { daemon, work, stateDir: join(work, 'state'), answersPath: join(work, 'answers.yaml'), before: undefined as unknown as HostSnapshot };
    await createWorkload(daemon, options);
    rig.before = await hostSnapshot(daemon);
    writeAnswers(rig);
    return rig;
  } catch (error) {
    await daemon?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the rig's daemon and deletes its work dir; safe on undefined. */
export async function tearDown(rig: FaultRig | undefined): Promise<void> {
  if (!rig) return;
  try {
    await rig.daemon.stop();
  } finally {
    rmSync(rig.work, { recursive: true, force: true });
  }
}

/** The CLI against the rig's daemon and state dir (CI=true: no prompts, plain output). */
export function cli(rig: Pick<FaultRig, 'daemon' | 'stateDir'>, args: readonly string[], env: NodeJS.ProcessEnv = {}, stateDir = rig.stateDir): Promise<RunResult> {
  return runCli(['--state-dir', stateDir, '--docker-host', rig.daemon.dockerHost, '--daemon-config', rig.daemon.configFile, ...args], { CI: 'true', ...env });
}

/** A failure message with everything needed to see why. */
export function explain(rig: Pick<FaultRig, 'daemon'>, result: RunResult, what = ''): string {
  return `${what ? `${what}: ` : ''}exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- daemon log\n${rig.daemon.logTail(20)}`;
}

/** A CLI process killed by the test hook (SIGKILL): the rig's runner reports code 128 for a signal. */
export const KILLED = 128;

/** The current run's id and directory in a state dir. */
export function currentRun(stateDir: string): { runId: string; runDir: string } {
  const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
  return { runId, runDir: join(stateDir, 'runs', runId) };
}

export interface RunStateFile {
  status: string;
  steps: { id: string; status: string }[];
  units: Record<string, { details?: Record<string, unknown> }>;
  journal: { seq: number; kind: string; undoneAt?: string }[];
  notes: Record<string, unknown>;
}

export function readState(stateDir: string): RunStateFile {
  return JSON.parse(readFileSync(join(currentRun(stateDir).runDir, 'state.json'), 'utf8')) as RunStateFile;
}

/** How the host differs from the snapshot `before` on `driver` (empty: the same). */
export function differences(before: HostSnapshot, now: HostSnapshot, driver: string): string[] {
  const out: string[] = [];
  if (now.driver !== driver) out.push(`driver ${now.driver}, expected ${driver}`);
  for (const key of ['images', 'containers', 'networks', 'volumes', 'volumeFiles'] as const) {
    if (!isDeepStrictEqual(now[key], before[key])) out.push(`${key} differ: ${describeDifference(before[key], now[key])}`);
  }
  return out;
}

/** The names under which two records differ (missing, added or changed), for messages. */
function describeDifference(before: Record<string, unknown>, now: Record<string, unknown>): string {
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])];
  return names
    .filter((name) => !isDeepStrictEqual(before[name], now[name]))
    .map((name) => (!(name in now) ? `${name} missing` : !(name in before) ? `${name} added` : `${name} changed`))
    .join(', ');
}

/** Asserts the host is the snapshot on `driver` (the test's own comparison). */
export async function expectHost(rig: FaultRig, driver: string): Promise<void> {
  const now = await hostSnapshot(rig.daemon);
  expect(now.driver).toBe(driver);
  expect(now.images).toEqual(rig.before.images);
  expect(now.networks).toEqual(rig.before.networks);
  expect(now.volumes).toEqual(rig.before.volumes);
  expect(now.containers).toEqual(rig.before.containers);
  expect(now.volumeFiles).toEqual(rig.before.volumeFiles);
}

/** The plan's step ids, read from `run --dry-run` (lines "  - Title [id]"). */
export async function plannedSteps(rig: FaultRig): Promise<string[]> {
  const result = await cli(rig, ['run', '--answers', rig.answersPath, '--dry-run'], {}, join(rig.work, 'dry-run-state'));
  expect(result.code, explain(rig, result, 'run --dry-run')).toBe(0);
  return [...result.stdout.matchAll(/^\s+[-*] .* \[([a-z0-9-]+)\]$/gm)].map((m) => m[1]!);
}
