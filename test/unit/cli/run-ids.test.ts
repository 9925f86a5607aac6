// A completed run that is not finalized holds the only way back to the host as it was: a new
// run must not bury it, and status/rollback reach any run by its id (CONTRACT.md).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunStore } from '../../../src/state/run-store.js';
import type { RunState } from '../../../src/state/types.js';
import { runCli } from '../run-cli.js';

let stateDir: string;
// Nothing listens here: a command that got as far as talking to Docker fails differently.
const NO_DOCKER = 'unix:///nonexistent/docker.sock';

beforeEach(async () => {
  stateDir = path.join(await mkdtemp(path.join(tmpdir(), 'dmm-runids-')), 'state');
});

afterEach(async () => {
  await rm(path.dirname(stateDir), { recursive: true, force: true });
});

async function makeRun(runId: string, status: RunState['status']): Promise<RunStore> {
  const store = await RunStore.create(stateDir, { dockerHost: NO_DOCKER, daemonConfig: '/etc/docker/daemon.json' }, [{ id: 'one', title: 'One' }], { runId });
  await store.setStatus(status);
  return store;
}

const cli = (...args: string[]) => runCli(['--state-dir', stateDir, '--docker-host', NO_DOCKER, ...args], { CI: 'true' });

describe('a new run beside a completed one', () => {
  it('is refused while the completed run is not finalized, naming it, finalize and rollback', async () => {
    await makeRun('20261201-000000-aaaa', 'completed');
    const result = await cli('run', '--yes');
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain('Run 20261201-000000-aaaa');
    expect(result.err).toContain('is not finalized');
    expect(result.err).toContain('devmapper-migrate finalize');
    expect(result.err).toContain('devmapper-migrate rollback 20261201-000000-aaaa');
    expect((await readFile(path.join(stateDir, 'current'), 'utf8')).trim()).toBe('20261201-000000-aaaa');
  });

  it('is refused while a run is open, naming the run in the rollback command', async () => {
    await makeRun('20261201-000000-aaaa', 'failed');
    const result = await cli('run', '--yes');
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain('is not finished (failed)');
    expect(result.err).toContain('devmapper-migrate rollback 20261201-000000-aaaa');
  });

  it('is not refused by a rolled-back or finalized run (it goes on to ask Docker)', async () => {
    for (const status of ['rolled-back', 'finalized'] as const) {
      await makeRun(`20261201-000000-${status === 'finalized' ? 'ffff' : 'bbbb'}`, status);
      const result = await cli('run', '--yes');
      expect(result.err).not.toContain('is not finalized');
      expect(result.err).not.toContain('is not finished');
    }
  });
});

describe('status and rollback by run id', () => {
  it('status RUN-ID shows that run, not the newest', async () => {
    await makeRun('20261201-000000-aaaa', 'rolled-back');
    await makeRun('20261202-000000-bbbb', 'completed');
    const older = await cli('status', '20261201-000000-aaaa');
    expect(older.code, older.err).toBe(0);
    expect(older.out).toMatch(/^Run 20261201-000000-aaaa: rolled-back/);
    const json = await cli('status', '--json', '20261201-000000-aaaa');
    expect((JSON.parse(json.out) as { run: { id: string } }).run.id).toBe('20261201-000000-aaaa');
    expect((await cli('status')).out).toMatch(/^Run 20261202-000000-bbbb: completed/);
  });

  it('an unknown id is exit 2, naming the runs there are', async () => {
    await makeRun('20261201-000000-aaaa', 'completed');
    for (const command of ['status', 'rollback']) {
      const result = await cli(command, ...(command === 'rollback' ? ['--yes'] : []), '20990101-000000-zzzz');
      expect(result.code, result.err).toBe(2);
      expect(result.err).toContain('There is no run 20990101-000000-zzzz');
      expect(result.err).toContain('20261201-000000-aaaa');
    }
    expect((await cli('status', '../../etc')).code).toBe(2);
  });

  it('rollback of an older run is refused while the newer current run is not settled', async () => {
    await makeRun('20261201-000000-aaaa', 'completed');
    await makeRun('20261202-000000-bbbb', 'completed');
    const result = await cli('rollback', '--yes', '20261201-000000-aaaa');
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain('current run 20261202-000000-bbbb');
    expect(result.err).toContain('devmapper-migrate rollback 20261202-000000-bbbb');
  });

  // finalize's question says "Rollback will no longer be possible": rollback keeps to that.
  it('rollback of a finalized run is refused, saying its backups are gone', async () => {
    await makeRun('20261201-000000-aaaa', 'finalized');
    const result = await cli('rollback', '--yes', '20261201-000000-aaaa');
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain('was finalized: its backups are deleted, so it cannot be rolled back');
  });
});
