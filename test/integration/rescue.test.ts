// Rescue mode (source.dockerd) on the rig: the installed engine is Engine 26 (test/rig/engine26.ts),
// running an empty overlay2 beside a planted devicemapper pool, as v25 does when no driver is
// named. This kernel has no device-mapper, so no legacy dockerd can read the pool here: what the
// rig proves is everything up to that read, and that a rescue that cannot start changes nothing
// (the installed engine stopped and started again, the side daemon's directory gone, no run).
// The whole rescue, on a real pool, is the system test (loop-lvm-to-overlay2, stage rescued).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKERD, ensureDist, run, runCli, startDockerd, type DaemonHandle, type RunResult } from '../rig/index.js';
import { engine26Options } from '../rig/engine26.js';
import { NodeHost } from '../../src/host/node-host.js';
import { sideDaemonLayout } from '../../src/host/side-daemon.js';
import { ensureRescueDaemon } from '../../src/run/rescue.js';
import { stopRescueDaemon, type RescueNote } from '../../src/steps/rescue.js';

let installed: DaemonHandle;
let work: string;
let engine26Dockerd: string;

/** devicemapper's files as a loop-lvm daemon leaves them (as in preflight-engine.test.ts). */
function plantDevicemapperPool(dataRoot: string): void {
  const dm = join(dataRoot, 'devicemapper');
  mkdirSync(join(dm, 'metadata'), { recursive: true });
  mkdirSync(join(dm, 'devicemapper'), { recursive: true });
  writeFileSync(join(dm, 'metadata', 'base'), '{"device_id":0,"size":10737418240,"transaction_id":1,"initialized":true,"deleted":false}');
  for (const file of ['data', 'metadata']) {
    writeFileSync(join(dm, 'devicemapper', file), '');
    truncateSync(join(dm, 'devicemapper', file), file === 'data' ? 100 * 2 ** 30 : 2 * 2 ** 30);
  }
}

const runtimeDir = () => join(installed.dir, 'rt');
const cli = (...args: string[]): Promise<RunResult> =>
  runCli(['--state-dir', join(work, 'state'), '--docker-host', installed.dockerHost, '--daemon-config', installed.configFile, ...args], {
    CI: 'true',
    // Short (a unix socket path stays under 108 bytes) and inside the rig daemon's directory, which its teardown and the sweeper clean.
    DEVMAPPER_MIGRATE_RUNTIME_DIR: runtimeDir(),
  });
const explain = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- installed daemon log\n${installed.logTail(20)}`;
function answers(dockerd: string): string {
  const file = join(work, 'answers.yaml');
  writeFileSync(
    file,
    `target: overlay2\nservice:\n  manager: command\n  stop: bash ${installed.stopScript}\n  start: bash ${installed.startScript}\n  timeoutSeconds: 120\nsource:\n  dockerd: ${dockerd}\n`,
  );
  return file;
}
const answersNow = async () => (await run('curl', ['-s', '--max-time', '5', '--unix-socket', installed.socketPath, 'http://d/_ping'])).stdout === 'OK';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-rescue-'));
  await ensureDist();
  const engine26 = await engine26Options();
  engine26Dockerd = engine26.dockerd;
  installed = await startDockerd({ name: 'rescue-installed', storageDriver: undefined, ...engine26 });
  plantDevicemapperPool(installed.dataRoot);
}, 900_000);

afterAll(async () => {
  try {
    await installed?.stop();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

describe('rescue mode on a host whose Engine 26 runs an empty overlay2 beside its devicemapper data', () => {
  it('without source.dockerd: the blocker names source.dockerd as the fix, and nothing changes', async () => {
    const file = join(work, 'plain.yaml');
    writeFileSync(file, 'target: overlay2\n');
    const result = await cli('run', '--answers', file, '--yes');
    expect(result.code, explain(result)).toBe(1);
    expect(result.stderr).toContain('devicemapper-data-not-in-use');
    expect(result.stderr.replace(/\s+/g, ' ')).toContain('set source.dockerd to its path in the answers');
    expect(await answersNow()).toBe(true);
  }, 300_000);

  it('refuses a source.dockerd that is not executable, or is v25+ itself, before it changes anything', async () => {
    const notExecutable = join(work, 'dockerd-copy');
    writeFileSync(notExecutable, '#!/bin/sh\n');
    chmodSync(notExecutable, 0o644);
    const refused = await cli('run', '--answers', answers(notExecutable), '--yes');
    expect(refused.code, explain(refused)).toBe(4);
    expect(refused.stderr).toContain(`source.dockerd ${notExecutable} is not an executable file. Nothing was changed.`);

    const tooNew = await cli('run', '--answers', answers(engine26Dockerd), '--yes');
    expect(tooNew.code, explain(tooNew)).toBe(4);
    expect(tooNew.stderr).toMatch(/is Docker 26\.1\.5\S*, which cannot read devicemapper either/);
    expect(await answersNow()).toBe(true);
  }, 300_000);

  it('--dry-run says what the rescue does and starts nothing', async () => {
    const result = await cli('run', '--answers', answers(DOCKERD), '--dry-run');
    expect(result.code, explain(result)).toBe(0);
    expect(result.stdout).toContain(`Rescue mode: Docker 26.1.5`);
    expect(result.stdout).toContain(`stops the installed engine (sh -c 'bash ${installed.stopScript}')`);
    expect(result.stdout).toMatch(new RegExp(`\\$ ${DOCKERD} -H unix://${runtimeDir()}/<run-id>/source/docker\\.sock --data-root ${installed.dataRoot} .*--bridge none`));
    expect(result.stderr).toContain('Dry run: nothing was changed, and nothing was started.');
    expect(await answersNow()).toBe(true);
    expect(existsSync(runtimeDir())).toBe(false);
  }, 300_000);

  it('a legacy dockerd that cannot read the pool: the installed engine is stopped, then started again; nothing of the side daemon is left, and no run', async () => {
    const pidBefore = installed.pid;
    const result = await cli('run', '--answers', answers(DOCKERD), '--yes');
    expect(result.code, explain(result)).toBe(4);
    expect(result.stderr).toContain('The installed engine runs on');
    expect(result.stderr).toMatch(/The legacy dockerd \/usr\/sbin\/dockerd \(20\.10\.\S+\) did not start on /);
    expect(result.stderr).toContain('and the installed engine was started again');
    // Stopped (two daemons never on one data-root), and started again: a new process answers.
    expect(await answersNow()).toBe(true);
    expect(installed.pid).not.toBe(pidBefore);
    expect(readdirSync(runtimeDir())).toEqual([]);
    expect((await run('pgrep', ['-f', '--', `${runtimeDir()}/`])).stdout).toBe('');
    expect(existsSync(join(work, 'state', 'current'))).toBe(false);
  }, 600_000);
});

describe("a rescue's side daemon, as resume and stop-daemon handle it (on vfs: the rig has no device-mapper)", () => {
  it('resume starts it again from the run\'s note only when it does not answer; stop-daemon stops it by its pid file and removes its directory', async () => {
    const dataRoot = join(installed.dir, 'legacy-root');
    mkdirSync(dataRoot);
    const spec = { name: 'source', runId: 'r9', runtimeDir: join(installed.dir, 'rt2', 'r9'), dockerd: DOCKERD, dataRoot, storageDriver: 'vfs', storageOpts: [] };
    const note: RescueNote = { spec, dockerHost: sideDaemonLayout(spec).dockerHost, legacyVersion: '20.10', installed: { wasRunning: false } };
    const host = new NodeHost('/');
    const said: string[] = [];
    const sideAnswers = async () => (await run('curl', ['-s', '--max-time', '5', '--unix-socket', sideDaemonLayout(spec).socketPath, 'http://d/_ping'])).stdout === 'OK';
    try {
      await ensureRescueDaemon(host, note, 60, (line) => said.push(line));
      expect(await sideAnswers()).toBe(true);
      expect(said[0]).toMatch(/^Starting the legacy dockerd 20\.10 \(\/usr\/sbin\/dockerd\) again on /);
      const pid = readFileSync(sideDaemonLayout(spec).pidFile, 'utf8');
      said.length = 0;
      await ensureRescueDaemon(host, note, 60, (line) => said.push(line));
      expect(said).toEqual([]);
      expect(readFileSync(sideDaemonLayout(spec).pidFile, 'utf8')).toBe(pid);
    } finally {
      await stopRescueDaemon(host, note, 60);
    }
    expect(await sideAnswers()).toBe(false);
    expect(existsSync(spec.runtimeDir)).toBe(false);
    expect((await run('pgrep', ['-f', '--', `${spec.runtimeDir}/`])).stdout).toBe('');
  }, 300_000);
});
