// What happens when a run does not go straight through, on real rig dockerds: the target
// refuses to start (automatic rollback, exit 3); the process is killed in each phase and
// `resume` finishes the run; a run killed mid-restore is rolled back; a second run is refused
// while one holds the lock; finalize after a clean run.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/state/lock.js';
import { BASE_IMAGE, buildImage, docker, ensureDist, runCli, seedBaseImage, startDockerd, startRegistry, type DaemonHandle, type RunResult } from '../rig/index.js';
import { hostSnapshot, type HostSnapshot } from '../rig/snapshot.js';
import { addRollbackTraps } from './fault-common.js';

const APP = 'recovery/app:1';

interface Rig {
  daemon: DaemonHandle;
  work: string;
  stateDir: string;
  before: HostSnapshot;
}

const rigs: Rig[] = [];

async function setUp(name: string): Promise<Rig> {
  const daemon = await startDockerd({ name, storageDriver: 'vfs' });
  const work = mkdtempSync(join(tmpdir(), `dmm-${name}-`));
  const rig: Rig = { daemon, work, stateDir: join(work, 'state'), before: undefined as unknown as HostSnapshot };
  rigs.push(rig);
  await seedBaseImage(daemon);
  await buildImage(daemon, APP, `FROM ${BASE_IMAGE}\nCMD ["sleep","3600"]\n`);
  await docker(daemon, 'tag', APP, 'recovery/app:latest');
  await docker(daemon, 'volume', 'create', 'rec-data');
  await docker(daemon, 'run', '-d', '--name', 'db', '-v', 'rec-data:/data', '--restart', 'unless-stopped', APP);
  await docker(daemon, 'exec', 'db', 'sh', '-c', 'echo precious > /data/file && echo layer > /root.txt');
  await docker(daemon, 'run', '-d', '--name', 'app', '--link', 'db:db', '-e', 'X=1', APP);
  await docker(daemon, 'create', '--name', 'idle', APP);
  await addRollbackTraps(daemon);
  rig.before = await hostSnapshot(daemon);
  writeAnswers(rig, `bash ${daemon.startScript}`);
  return rig;
}

function writeAnswers(rig: Rig, start: string, extra = ''): void {
  writeFileSync(
    join(rig.work, 'answers.yaml'),
    `target: overlay2\nservice:\n  manager: command\n  stop: bash ${rig.daemon.stopScript}\n  start: ${JSON.stringify(start)}\n  timeoutSeconds: 120\n${extra}`,
  );
}

function cli(rig: Rig, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runCli(['--state-dir', rig.stateDir, '--docker-host', rig.daemon.dockerHost, '--daemon-config', rig.daemon.configFile, ...args], { CI: 'true', ...env });
}

function explain(rig: Rig, result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- daemon log\n${rig.daemon.logTail(20)}`;
}

async function expectOriginal(rig: Rig): Promise<void> {
  const now = await hostSnapshot(rig.daemon);
  expect(now.driver).toBe('vfs');
  expect(now.images).toEqual(rig.before.images);
  expect(now.containers).toEqual(rig.before.containers);
  expect(now.networks).toEqual(rig.before.networks);
  expect(now.volumes).toEqual(rig.before.volumes);
  expect(now.volumeFiles).toEqual(rig.before.volumeFiles);
}

async function expectMigrated(rig: Rig): Promise<void> {
  const now = await hostSnapshot(rig.daemon);
  expect(now.driver).toBe('overlay2');
  expect(now.images).toEqual(rig.before.images);
  expect(now.containers).toEqual(rig.before.containers);
  expect(now.volumeFiles).toEqual(rig.before.volumeFiles);
  expect(await docker(rig.daemon, 'exec', 'db', 'cat', '/root.txt')).toBe('layer');
}

/** Every file under a directory, as paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The one file called `name` under `dir`. */
function findFile(dir: string, name: string): string {
  const found = filesUnder(dir).filter((f) => f.endsWith(`/${name}`));
  expect(found, `${name} under ${dir}`).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  await ensureDist();
}, 300_000);

afterAll(async () => {
  const results = await Promise.allSettled(rigs.map((rig) => rig.daemon.stop()));
  for (const rig of rigs) rmSync(rig.work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

describe('a target that refuses to start', () => {
  it('is rolled back automatically: exit 3, the old driver, the old containers, the daemon’s own words', async () => {
    const rig = await setUp('rec-refuse');
    // dockerd itself refuses overlay2 here: overlay2.size needs xfs with project quota (PITFALLS 15).
    const refusing = join(rig.work, 'start-refusing-overlay2.sh');
    writeFileSync(
      refusing,
      `#!/bin/bash\nif grep -q overlay2 ${rig.daemon.configFile}; then\n  sed 's|--config-file|--storage-opt overlay2.size=1G --config-file|' ${rig.daemon.startScript} > ${rig.work}/start-bad.sh\n  exec bash ${rig.work}/start-bad.sh\nfi\nexec bash ${rig.daemon.startScript}\n`,
    );
    // Pushed too: the untagged image gets a tag of its ID for the push, which must not stay.
    const registry = await startRegistry({ auth: false });
    try {
      writeAnswers(rig, `bash ${refusing}`, `images:\n  push: true\nregistry:\n  address: ${registry.address}\n`);
      const result = await cli(rig, ['run', '--answers', join(rig.work, 'answers.yaml'), '--yes']);
      expect(result.code, explain(rig, result)).toBe(3);
      expect(result.stderr).toMatch(/start-daemon/);
      expect(result.stderr).toMatch(/overlay2\.size|project quota|Storage option/i);
      // Its own verify found nothing either: the traps (a subnet-only network, the push tag, a container the old daemon restarts) are handled.
      expect(result.stderr).toMatch(/back on vfs with its original images and containers/);
    } finally {
      await registry.stop();
    }
    await expectOriginal(rig);
    const status = JSON.parse((await cli(rig, ['status', '--json'])).stdout) as { run: { status: string } };
    expect(status.run.status).toBe('rolled-back');
  }, 900_000);
});

describe('killed and resumed', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await setUp('rec-resume');
  }, 600_000);

  // One kill in each phase; after each, resume continues from the state file. After the kill in
  // the middle of save-writable-layers, the layer archive made before it is damaged: the resume
  // must find that out and make it again, not skip it.
  const kills = ['save-images:middle', 'stop-containers:after', 'save-writable-layers:middle', 'keep-data-root:after', 'start-daemon:after', 'create-containers:middle'];

  /** Truncates the archive of the writable layer the run recorded as kept; returns its file name. */
  function damageKeptLayerArchive(): string {
    const runDir = join(rig.stateDir, 'runs', readFileSync(join(rig.stateDir, 'current'), 'utf8').trim());
    const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as { units: Record<string, { details: { file?: string } }> };
    const kept = Object.entries(state.units).filter(([key]) => key.startsWith('layer:'));
    expect(kept, 'one layer kept before the kill').toHaveLength(1);
    const file = kept[0]![1].details.file!;
    const archive = findFile(runDir, file);
    writeFileSync(archive, readFileSync(archive).subarray(0, 512));
    return file;
  }

  it(`reaches a clean verify after kills at ${kills.join(', ')}`, async () => {
    const first = await cli(rig, ['run', '--answers', join(rig.work, 'answers.yaml'), '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: kills[0] });
    expect(first.code, explain(rig, first)).not.toBe(0);
    let damaged: string | undefined;
    for (const [index, kill] of kills.slice(1).entries()) {
      if (kills[index] === 'save-writable-layers:middle') damaged = damageKeptLayerArchive();
      const resumed = await cli(rig, ['resume', '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: kill });
      expect(resumed.code, `${kill}\n${explain(rig, resumed)}`).not.toBe(0);
      const status = JSON.parse((await cli(rig, ['status', '--json'])).stdout) as { run: { status: string }; next: { command: string } };
      expect(status.run.status).toBe('in-progress');
      expect(status.next.command).toBe('devmapper-migrate resume');
    }
    const last = await cli(rig, ['resume']);
    expect(last.code, explain(rig, last)).toBe(0);
    await expectMigrated(rig);
    const verify = await cli(rig, ['verify']);
    expect(verify.code, explain(rig, verify)).toBe(0);
    // No half-written archive was left behind, and the damaged one was made again.
    const runId = readFileSync(join(rig.stateDir, 'current'), 'utf8').trim();
    const runDir = join(rig.stateDir, 'runs', runId);
    expect(existsSync(join(runDir, 'images'))).toBe(true);
    expect(filesUnder(runDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const log = readFileSync(join(runDir, 'run.log'), 'utf8');
    expect(log).toMatch(/resumed/);
    expect(damaged).toBeDefined();
    expect(log).toContain(`${damaged}: the archive made before is missing or damaged; making it again`);
  }, 1_200_000);

  it('finalize deletes the backups after the clean run, and says how much it freed', async () => {
    const runId = readFileSync(join(rig.stateDir, 'current'), 'utf8').trim();
    const state = JSON.parse(readFileSync(join(rig.stateDir, 'runs', runId, 'state.json'), 'utf8')) as { notes: { keptDataRoot: string } };
    expect(existsSync(state.notes.keptDataRoot)).toBe(true);
    // The report puts the measured downtime beside preflight's estimate.
    const report = JSON.parse(readFileSync(join(rig.stateDir, 'runs', runId, 'report.json'), 'utf8')) as { entries: { key: string; details?: { seconds?: number; estimateSeconds?: number } }[] };
    const downtime = report.entries.find((e) => e.key === 'downtime-measured');
    expect(downtime?.details?.seconds).toBeGreaterThan(0);
    expect(downtime?.details?.estimateSeconds).toBeGreaterThan(0);
    const result = await cli(rig, ['finalize', '--yes']);
    expect(result.code, explain(rig, result)).toBe(0);
    expect(result.stdout).toMatch(/freed \d/);
    expect(existsSync(state.notes.keptDataRoot)).toBe(false);
    expect(existsSync(join(rig.stateDir, 'runs', runId, 'images'))).toBe(false);
    const rollback = await cli(rig, ['rollback', '--yes']);
    expect(rollback.code).toBe(4);
    expect(rollback.stderr).toMatch(/finalized/);
    await expectMigrated(rig);
  }, 300_000);
});

describe('killed mid-restore, then rolled back', () => {
  it('ends with the original inventory verified', async () => {
    const rig = await setUp('rec-rollback');
    const killed = await cli(rig, ['run', '--answers', join(rig.work, 'answers.yaml'), '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'create-containers:middle' });
    expect(killed.code, explain(rig, killed)).not.toBe(0);

    // Half-way there is nothing to verify: say where the host stands and what continues it.
    const early = await cli(rig, ['verify']);
    expect(early.code, explain(rig, early)).toBe(4);
    expect(early.stderr).toMatch(/is not finished \(in-progress\)/);
    expect(early.stderr).toContain('devmapper-migrate resume');
    expect(early.stdout).not.toMatch(/recreated/);
    const midway = await cli(rig, ['status']);
    expect(midway.stdout).toContain('The host now: Docker runs on the target driver, but the containers are not all restored');

    const result = await cli(rig, ['rollback', '--yes']);
    expect(result.code, explain(rig, result)).toBe(0);
    expect(result.stderr).toMatch(/matches its original inventory/);
    // The undo in plain words, newest first, before it starts.
    expect(result.stderr).toMatch(/1\. stop Docker on the target driver/);
    expect(result.stderr).toMatch(/put \S*daemon.json back as it was/);
    expect(result.stderr).toContain('`devmapper-migrate finalize` deletes them');
    await expectOriginal(rig);

    // A second rollback has nothing to do and says so (it asked "Undo 0 change(s)?").
    const again = await cli(rig, ['rollback', '--yes']);
    expect(again.code, explain(rig, again)).toBe(0);
    expect(again.stdout).toContain('is already rolled back');
    const status = await cli(rig, ['status']);
    expect(status.stdout).toContain('The host now: back as it was before the run');
    expect(status.stdout).toMatch(/↺ .*\[stop-daemon\] \(undone by the rollback\)/);
    const resumed = await cli(rig, ['resume', '--yes']);
    expect(resumed.code, explain(rig, resumed)).toBe(2);

    // finalize cleans up what the rolled-back run left: its archives and the target's data-root.
    const leftovers = () => readdirSync(join(rig.daemon.dataRoot, '..')).filter((name) => name.endsWith('.target'));
    expect(leftovers().length, readdirSync(join(rig.daemon.dataRoot, '..')).join(' ')).toBe(1);
    const cleaned = await cli(rig, ['finalize', '--yes']);
    expect(cleaned.code, explain(rig, cleaned)).toBe(0);
    expect(cleaned.stdout).toContain('Cleaned up after rolled-back run');
    expect(leftovers()).toEqual([]);
    const runDir = join(rig.stateDir, 'runs', readdirSync(join(rig.stateDir, 'runs'))[0]!);
    expect(existsSync(join(runDir, 'images'))).toBe(false);
    await expectOriginal(rig);
    const nothingLeft = await cli(rig, ['finalize', '--yes']);
    expect(nothingLeft.stdout).toContain('left nothing behind');
  }, 900_000);
});

describe('one run at a time', () => {
  it('refuses a second run while the lock is held, naming the holder', async () => {
    const rig = await setUp('rec-lock');
    mkdirSync(rig.stateDir, { mode: 0o700 });
    const lock = await acquireLock(rig.stateDir, 'run');
    try {
      const result = await cli(rig, ['run', '--answers', join(rig.work, 'answers.yaml'), '--yes']);
      expect(result.code, explain(rig, result)).toBe(4);
      expect(result.stderr).toContain(String(process.pid));
      expect((await hostSnapshot(rig.daemon)).driver).toBe('vfs');
    } finally {
      await lock.release();
    }
  }, 300_000);
});
