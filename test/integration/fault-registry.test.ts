// A registry that refuses the credentials, one that cannot be reached, and one that starts
// refusing in the middle of the push (issue 10), with images.push. Unreachable at the start is
// a preflight blocker (exit 1, no run). Otherwise the push step comes before the containers
// stop, so the run stops with exit 4 and the host unchanged; only what the registry really
// holds is recorded as pushed; the message names the registry (and the user) and never the
// password. Once the registry takes the password again, `resume` pushes the rest and finishes.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSnapshot } from '../rig/snapshot.js';
import { ensureDist, freePort, manifestDigestOf, startRegistry, startRegistryGate, type RegistryHandle } from '../rig/index.js';
import { cli, differences, explain, expectHost, readState, setUpRig, tearDown, writeAnswers, type FaultRig, type RunStateFile } from './fault-common.js';

const PASSWORD_ENV = 'DMM_FAULT_REGISTRY_PASSWORD';
/** Wrong, and easy to find if it leaks anywhere. */
const WRONG_PASSWORD = 'wrong-canary-7c1f9e2a5b';

let rig: FaultRig | undefined;
let registry: RegistryHandle | undefined;

beforeAll(async () => {
  await ensureDist();
  [rig, registry] = await Promise.all([setUpRig('registry-fault'), startRegistry({ auth: true })]);
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([tearDown(rig), registry?.stop()]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

function pushAnswers(address: string, username: string): string {
  return ['images:', '  push: true', 'registry:', `  address: ${address}`, '  repositoryPrefix: faults/', `  username: ${username}`, `  passwordEnv: ${PASSWORD_ENV}`].join('\n');
}

/** Every file of a directory tree, read whole. */
function allText(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? allText(join(dir, e.name)) : e.isFile() ? readFileSync(join(dir, e.name), 'latin1') : ''))
    .join('\n');
}

/** The run stopped at push-images before any change: state failed, no open journal entry, no push unit, the host as it was. */
async function expectStoppedBeforeAnyChange(stateDir: string): Promise<void> {
  const state = readState(stateDir);
  expect(state.status).toBe('failed');
  expect(state.steps.find((s) => s.id === 'push-images')?.status).toBe('failed');
  expect(state.steps.find((s) => s.id === 'stop-containers')?.status).toBe('pending');
  expect(state.journal.filter((e) => !e.undoneAt)).toEqual([]);
  expect(Object.keys(state.units).filter((key) => key.startsWith('push:'))).toEqual([]);
  await expectHost(rig!, 'vfs');
}

describe('a registry that refuses the credentials', () => {
  it('stops the run before any change with exit 4, naming registry and user, never the password', async () => {
    const stateDir = join(rig!.work, 'state-refused');
    writeAnswers(rig!, { extra: pushAnswers(registry!.address, registry!.username) });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { [PASSWORD_ENV]: WRONG_PASSWORD }, stateDir);
    expect(result.code, explain(rig!, result)).toBe(4);
    expect(result.stderr).toMatch(/push-images/);
    expect(result.stderr).toContain(registry!.address);
    expect(result.stderr).toContain(registry!.username);
    expect(result.stderr).toMatch(/denied|unauthori[sz]ed|credentials|login|authenticat/i);
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace
    expect(`${result.stdout}\n${result.stderr}`).not.toContain(WRONG_PASSWORD);
    expect(allText(stateDir)).not.toContain(WRONG_PASSWORD);
    await expectStoppedBeforeAnyChange(stateDir);
    // The state dir stays private after a failure, too.
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
  }, 300_000);
});

describe('a registry that cannot be reached', () => {
  it('is a blocker before the run starts (exit 1, registry-unreachable), nothing recorded', async () => {
    const stateDir = join(rig!.work, 'state-unreachable-preflight');
    const address = `127.0.0.1:${await freePort()}`;
    writeAnswers(rig!, { extra: pushAnswers(address, 'nobody') });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { [PASSWORD_ENV]: WRONG_PASSWORD }, stateDir);
    expect(result.code, explain(rig!, result)).toBe(1);
    expect(result.stderr).toContain('registry-unreachable');
    expect(result.stderr).toContain(address);
    expect(result.stderr).toContain('Nothing was changed');
    expect(`${result.stdout}\n${result.stderr}`).not.toContain(WRONG_PASSWORD);
    expect(existsSync(join(stateDir, 'runs')) ? readdirSync(join(stateDir, 'runs')) : []).toEqual([]);
    await expectHost(rig!, 'vfs');
  }, 300_000);

  it('gone by the push (its blocker ignored): the run stops before any change with exit 4, naming the registry', async () => {
    const stateDir = join(rig!.work, 'state-unreachable');
    // A free port nobody listens on: connection refused.
    const address = `127.0.0.1:${await freePort()}`;
    writeAnswers(rig!, { extra: `${pushAnswers(address, 'nobody')}\nignoreBlockers: [registry-unreachable]` });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { [PASSWORD_ENV]: WRONG_PASSWORD }, stateDir);
    expect(result.code, explain(rig!, result)).toBe(4);
    expect(result.stderr).toMatch(/push-images/);
    expect(result.stderr).toContain(address);
    expect(result.stderr).toMatch(/refused|reach|connect|unavailable/i);
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
    expect(`${result.stdout}\n${result.stderr}`).not.toContain(WRONG_PASSWORD);
    await expectStoppedBeforeAnyChange(stateDir);
  }, 300_000);
});

/** The push units of a run: source ref → where it went and the digest the push reported. */
function pushedUnits(state: RunStateFile): Record<string, { targetRef: string; digest: string }> {
  const out: Record<string, { targetRef: string; digest: string }> = {};
  for (const [key, unit] of Object.entries(state.units)) {
    if (key.startsWith('push:')) out[key.slice('push:'.length)] = unit.details as { targetRef: string; digest: string };
  }
  return out;
}

/** The registry's own digest for a pushed ref, asked directly (not through the gate). */
const registryDigest = (targetRef: string): Promise<string> => manifestDigestOf(registry!.info(), targetRef);

describe('a registry that starts refusing the credentials in the middle of the push', () => {
  it('stops with exit 4 before any change, keeping only what the registry holds; resume pushes the rest and finishes', async () => {
    const gate = await startRegistryGate(registry!.address);
    try {
      const stateDir = join(rig!.work, 'state-mid-push');
      const env = { [PASSWORD_ENV]: registry!.password };
      writeAnswers(rig!, { extra: pushAnswers(gate.address, registry!.username) });
      gate.refuseAfterManifests(1);
      const failed = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], env, stateDir);
      expect(failed.code, explain(rig!, failed)).toBe(4);
      expect(gate.refused()).toBeGreaterThan(0);
      expect(failed.stderr).toMatch(/push-images/);
      expect(failed.stderr).toContain(gate.address);
      expect(failed.stderr).toMatch(/denied|unauthori[sz]ed|credentials|login|authenticat/i);
      expect(failed.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      const stopped = readState(stateDir);
      expect(stopped.steps.find((s) => s.id === 'push-images')?.status).toBe('failed');
      expect(stopped.steps.find((s) => s.id === 'stop-containers')?.status).toBe('pending');
      expect(stopped.journal.filter((e) => !e.undoneAt)).toEqual([]);
      await expectHost(rig!, 'vfs');
      // What is recorded as pushed is in the registry under the digest the push reported.
      const pushedBefore = pushedUnits(stopped);
      expect(Object.keys(pushedBefore).length).toBeGreaterThanOrEqual(1);
      for (const { targetRef, digest } of Object.values(pushedBefore)) expect(await registryDigest(targetRef), targetRef).toBe(digest);

      gate.open();
      // After a failed step, resume without --yes (and no terminal to ask on) refuses, and says how to go on.
      const unconfirmed = await cli(rig!, ['resume'], env, stateDir);
      expect(unconfirmed.code, explain(rig!, unconfirmed, 'resume without --yes')).toBe(2);
      expect(unconfirmed.stderr).toContain('push-images');
      expect(unconfirmed.stderr).toContain('resume --yes');
      expect(readState(stateDir).steps.find((s) => s.id === 'push-images')?.status).toBe('failed');
      const resumed = await cli(rig!, ['resume', '--yes'], env, stateDir);
      expect(resumed.code, explain(rig!, resumed, 'resume')).toBe(0);
      const pushedAfter = pushedUnits(readState(stateDir));
      // The refusal came before the last push: resume had some left to push, and kept the first ones.
      expect(Object.keys(pushedAfter).length).toBeGreaterThan(Object.keys(pushedBefore).length);
      for (const [ref, unit] of Object.entries(pushedBefore)) expect(pushedAfter[ref], ref).toEqual(unit);
      for (const { targetRef, digest } of Object.values(pushedAfter)) expect(await registryDigest(targetRef), targetRef).toBe(digest);
      const verify = await cli(rig!, ['verify'], env, stateDir);
      expect(verify.code, explain(rig!, verify, 'verify')).toBe(0);
      expect(differences(rig!.before, await hostSnapshot(rig!.daemon), 'overlay2')).toEqual([]);
      expect(allText(stateDir)).not.toContain(registry!.password);

      const rolledBack = await cli(rig!, ['rollback', '--yes'], env, stateDir);
      expect(rolledBack.code, explain(rig!, rolledBack, 'rollback')).toBe(0);
      await expectHost(rig!, 'vfs');
    } finally {
      await gate.close();
    }
  }, 600_000);
});

describe('images pushed and not saved', () => {
  it('come back by pull from the registry: the original IDs and tags, no registry tags left, verify clean', async () => {
    const stateDir = join(rig!.work, 'state-pull-back');
    const env = { [PASSWORD_ENV]: registry!.password };
    writeAnswers(rig!, { extra: `${pushAnswers(registry!.address, registry!.username).replace('  push: true', '  push: true\n  save: false')}` });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], env, stateDir);
    expect(result.code, explain(rig!, result)).toBe(0);
    const state = readState(stateDir);
    // No archives: load-images had only the registry to restore from.
    expect(state.steps.map((s) => s.id)).not.toContain('save-images');
    expect(state.steps.find((s) => s.id === 'load-images')?.status).toBe('done');
    // The test's own comparison: images are compared by ID and tags, so a registry tag left behind shows.
    expect(differences(rig!.before, await hostSnapshot(rig!.daemon), 'overlay2')).toEqual([]);
    const verify = await cli(rig!, ['verify'], env, stateDir);
    expect(verify.code, explain(rig!, verify, 'verify')).toBe(0);
    const rolledBack = await cli(rig!, ['rollback', '--yes'], env, stateDir);
    expect(rolledBack.code, explain(rig!, rolledBack, 'rollback')).toBe(0);
    await expectHost(rig!, 'vfs');
  }, 600_000);
});
