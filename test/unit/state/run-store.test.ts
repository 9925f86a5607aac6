import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../../src/errors.js';
import { RunStore } from '../../../src/state/run-store.js';
import { executeStep } from '../../../src/steps/runner.js';
import type { BaseStepContext, Step } from '../../../src/steps/step.js';
import { undoJournal } from '../../../src/steps/undo.js';

let stateDir: string;
beforeEach(() => {
  stateDir = join(mkdtempSync(join(tmpdir(), 'dmm-state-')), 'state');
});
afterEach(() => rmSync(join(stateDir, '..'), { recursive: true, force: true }));

const OPTIONS = { dockerHost: 'unix:///x.sock', daemonConfig: '/etc/docker/daemon.json' };
const STEPS = [
  { id: 'one', title: 'One' },
  { id: 'two', title: 'Two' },
];

describe('run store', () => {
  it('creates a private run directory and names it in current', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(store.runDir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path('state.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(stateDir, 'current'), 'utf8').trim()).toBe(store.runId);
    const reopened = await RunStore.openCurrent(stateDir);
    expect(reopened?.state).toEqual(store.state);
    // No temporary files are left behind by the atomic writes.
    expect(readdirSync(store.runDir).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('explains a truncated state file and leaves it untouched', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    const path = store.path('state.json');
    const damaged = readFileSync(path, 'utf8').slice(0, 50);
    writeFileSync(path, damaged);
    await expect(RunStore.openCurrent(stateDir)).rejects.toThrow(/state file .* is damaged/);
    expect(readFileSync(path, 'utf8')).toBe(damaged);
  });

  it('refuses a state dir that others can write', async () => {
    await RunStore.create(stateDir, OPTIONS, STEPS);
    chmodSync(stateDir, 0o777);
    await expect(RunStore.create(stateDir, OPTIONS, STEPS)).rejects.toThrow(/can be written by other users/);
  });
});

// The lock is tested against real racing processes in lock.test.ts.

describe('step runner and journal', () => {
  it('records start and end, skips done steps, keeps a failed one for resume', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    const ctx: BaseStepContext = { store, log: () => undefined };
    const progress = { say: () => undefined, transfer: () => undefined };
    let runs = 0;
    let seenStatusWhileRunning = '';
    const one: Step = {
      id: 'one', title: 'One', phase: 'export',
      run: async () => {
        runs += 1;
        seenStatusWhileRunning = (await RunStore.openCurrent(stateDir))!.step('one').status;
      },
    };
    const two: Step = { id: 'two', title: 'Two', phase: 'export', run: async () => { throw new Error('disk full'); } };
    expect(await executeStep(one, ctx, progress)).toBe('done');
    expect(seenStatusWhileRunning).toBe('running');
    expect(await executeStep(one, ctx, progress)).toBe('skipped');
    expect(runs).toBe(1);
    await expect(executeStep(two, ctx, progress)).rejects.toThrow('disk full');
    const saved = (await RunStore.openCurrent(stateDir))!;
    expect(saved.step('two')).toMatchObject({ status: 'failed', attempts: 1, error: { message: 'disk full' } });
  });

  it('an abort error from in-flight work after Ctrl+C is an interruption: the step goes back to pending, not failed', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    const controller = new AbortController();
    const ctx: BaseStepContext = { store, log: () => undefined, signal: controller.signal };
    const progress = { say: () => undefined, transfer: () => undefined };
    const one: Step = {
      id: 'one', title: 'One', phase: 'export',
      run: async () => {
        controller.abort();
        throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
      },
    };
    const thrown = await executeStep(one, ctx, progress).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(InterruptedError);
    expect((thrown as Error).message).toBe('Interrupted during step one (One); stopped at a safe point.');
    const saved = (await RunStore.openCurrent(stateDir))!;
    expect(saved.step('one')).toMatchObject({ status: 'pending', attempts: 1 });
    expect(saved.step('one').error).toBeUndefined();
  });

  it('the same error without Ctrl+C is a failure', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    const ctx: BaseStepContext = { store, log: () => undefined, signal: new AbortController().signal };
    const one: Step = { id: 'one', title: 'One', phase: 'export', run: async () => { throw new Error('The operation was aborted'); } };
    await expect(executeStep(one, ctx, { say: () => undefined, transfer: () => undefined })).rejects.not.toBeInstanceOf(InterruptedError);
    expect((await RunStore.openCurrent(stateDir))!.step('one').status).toBe('failed');
  });

  it('undoes newest first and goes on after a failed undo, recording it', async () => {
    const store = await RunStore.create(stateDir, OPTIONS, STEPS);
    await store.journal('one', 'a', { n: 1 });
    await store.journal('one', 'broken', { n: 2 });
    await store.journal('two', 'a', { n: 3 });
    const order: number[] = [];
    const handlers = {
      a: async (_: unknown, data: Record<string, unknown>) => void order.push(data.n as number),
      broken: async () => { throw new Error('device busy'); },
    };
    const failures = await undoJournal(store, {}, handlers, () => undefined);
    expect(order).toEqual([3, 1]);
    expect(failures.map((f) => f.entry.seq)).toEqual([2]);
    const saved = (await RunStore.openCurrent(stateDir))!;
    expect(saved.state.journal.map((e) => Boolean(e.undoneAt))).toEqual([true, false, true]);
    expect(saved.state.journal[1]?.undoError).toBe('device busy');
    // A second rollback only retries what is not undone yet.
    order.length = 0;
    await undoJournal(saved, {}, { ...handlers, broken: async () => undefined }, () => undefined);
    expect(order).toEqual([]);
    expect(saved.state.journal.every((e) => e.undoneAt)).toBe(true);
  });
});
