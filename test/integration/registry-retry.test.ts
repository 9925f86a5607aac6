// A registry with passing trouble (issue 19 item 15): Debian's registry once answered 500 to a
// push of two tags of one image at once, which stopped an unattended run. A gate in front of
// the rig registry (test/rig/registry-gate.ts) answers 500 to, or drops, the first manifest
// uploads: the push step tries again after 1 s, 2 s, 4 s, says so in run.log, and succeeds;
// a registry that keeps answering 500 still stops the run (exit 4, before any change) after
// the 4th try. One image's tags go one after the other, never side by side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, manifestDigestOf, startRegistry, startRegistryGate, type RegistryGate, type RegistryHandle } from '../rig/index.js';
import { APP, cli, currentRun, explain, expectHost, KILLED, readState, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
let registry: RegistryHandle | undefined;
let gate: RegistryGate | undefined;

beforeAll(async () => {
  await ensureDist();
  [rig, registry] = await Promise.all([setUpRig('registry-retry'), startRegistry({ auth: false })]);
  gate = await startRegistryGate(registry.address);
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([gate?.close(), tearDown(rig), registry?.stop()]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

function pushAnswers(prefix: string): string {
  return ['images:', '  push: true', 'registry:', `  address: ${gate!.address}`, `  repositoryPrefix: ${prefix}/`].join('\n');
}

function runLog(stateDir: string): string {
  return readFileSync(join(currentRun(stateDir).runDir, 'run.log'), 'utf8');
}

/** Lines "Push of REF failed (…); retrying in N s (attempt K of 4)" of run.log. */
function retryLines(log: string): string[] {
  return log.split('\n').filter((line) => /Push of \S+ failed \(.*\); retrying in \d+ s \(attempt \d of 4\)/.test(line));
}

/** Runs until the push step is done (the test build stops it there), so nothing on the host changes. */
async function runThroughPush(prefix: string, stateDir: string) {
  writeAnswers(rig!, { extra: pushAnswers(prefix) });
  return cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'push-images:after' }, stateDir);
}

/** Every push unit of the run is in the registry under the digest it recorded. */
async function expectPushesLanded(stateDir: string): Promise<void> {
  const units = Object.entries(readState(stateDir).units).filter(([key]) => key.startsWith('push:'));
  expect(units.length).toBeGreaterThanOrEqual(3);
  for (const [key, unit] of units) {
    const { targetRef, digest } = unit.details as { targetRef: string; digest: string };
    expect(await manifestDigestOf(registry!.info(), targetRef), key).toBe(digest);
  }
}

describe('a registry answering 500 to the first manifest uploads', () => {
  it('is tried again with backoff, said in run.log, and the push step succeeds; one image’s tags one after the other', async () => {
    const stateDir = join(rig!.work, 'state-500-twice');
    gate!.failNext('manifest-put', 2, 500);
    const result = await runThroughPush('retry500', stateDir);
    expect(result.code, explain(rig!, result)).toBe(KILLED);
    expect(gate!.failed()).toBe(2);
    expect(readState(stateDir).steps.find((s) => s.id === 'push-images')?.status).toBe('done');
    const log = runLog(stateDir);
    const retries = retryLines(log);
    expect(retries, log).toHaveLength(2);
    for (const line of retries) expect(line).toMatch(/failed \(500 Internal Server Error\); retrying in (1 s \(attempt 2|2 s \(attempt 3) of 4\)/);
    await expectPushesLanded(stateDir);
    // APP and fault/app:latest are one image: the second tag's push starts after the first's ended.
    const at = (pattern: RegExp) => log.split('\n').findIndex((line) => pattern.test(line));
    const firstPushed = Math.min(at(new RegExp(`Pushed ${APP} as`)), at(/Pushed fault\/app:latest as/));
    const secondStarted = Math.max(at(new RegExp(`Pushing ${APP} to`)), at(/Pushing fault\/app:latest to/));
    expect(firstPushed, log).toBeGreaterThanOrEqual(0);
    expect(secondStarted, log).toBeGreaterThan(firstPushed);
    await expectHost(rig!, 'vfs');
  }, 300_000);
});

describe('a registry dropping the connection of the first manifest upload', () => {
  it('is tried again and the push step succeeds', async () => {
    const stateDir = join(rig!.work, 'state-drop');
    const failedBefore = gate!.failed();
    gate!.failNext('manifest-put', 1, 'drop');
    const result = await runThroughPush('retrydrop', stateDir);
    expect(result.code, explain(rig!, result)).toBe(KILLED);
    expect(gate!.failed() - failedBefore).toBe(1);
    const log = runLog(stateDir);
    expect(retryLines(log), log).toHaveLength(1);
    await expectPushesLanded(stateDir);
  }, 300_000);
});

describe('a registry that keeps answering 500', () => {
  it('still stops the run after the 4th try: exit 4 at push-images, before any change', async () => {
    const stateDir = join(rig!.work, 'state-500-always');
    gate!.failNext('manifest-put', Number.POSITIVE_INFINITY, 500);
    try {
      writeAnswers(rig!, { extra: pushAnswers('retryalways') });
      const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], {}, stateDir);
      expect(result.code, explain(rig!, result)).toBe(4);
      expect(result.stderr).toMatch(/push-images/);
      expect(result.stderr).toMatch(/500 Internal Server Error/);
      const state = readState(stateDir);
      expect(state.steps.find((s) => s.id === 'push-images')?.status).toBe('failed');
      expect(state.steps.find((s) => s.id === 'stop-containers')?.status).toBe('pending');
      const retries = retryLines(runLog(stateDir));
      // Each ref whose push was tried failed 4 times: 3 retries, none past "attempt 4 of 4".
      const refs = [...new Set(retries.map((line) => /Push of (\S+) failed/.exec(line)![1]))];
      expect(refs.length).toBeGreaterThanOrEqual(1);
      for (const ref of refs) {
        expect(retries.filter((line) => line.includes(`Push of ${ref} failed`)).map((line) => /attempt (\d) of 4/.exec(line)![1])).toEqual(['2', '3', '4']);
      }
      await expectHost(rig!, 'vfs');
    } finally {
      gate!.failNext('manifest-put', 0);
    }
  }, 300_000);
});
