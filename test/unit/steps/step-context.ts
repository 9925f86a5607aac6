/**
 * A MigrationContext for unit tests of the steps: a real RunStore in a temporary state dir, a
 * FakeDocker behind the doors, a FixtureHost, and a recorded inventory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedAnswers } from '../../../src/config/answers-types.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import type { Host } from '../../../src/host/host.js';
import type { MigrationContext } from '../../../src/steps/context.js';
import type { RecordedInventory } from '../../../src/record/run-files.js';
import { RunStore } from '../../../src/state/run-store.js';
import { stepById } from '../../../src/steps/catalog.js';
import { executeStep } from '../../../src/steps/runner.js';
import { orderableOf } from '../../../src/plan/container-order.js';
import { buildPlan, type Plan } from '../../../src/plan/plan.js';
import { selectInventory } from '../../../src/plan/select.js';
import { archiveBaseDir } from '../../../src/record/run-files.js';
import { FakeDocker } from './fake-docker.js';

const dirs: string[] = [];

/** The daemon notes of a devicemapper host on Docker 20.10 moving to overlay2 (state.json's `daemon`). */
export const DEVICEMAPPER_HOST_DAEMON: MigrationContext['daemon'] = {
  dataRoot: '/var/lib/docker',
  pidFile: '/var/run/docker.pid',
  configPath: '/etc/docker/daemon.json',
  sourceDriver: 'devicemapper',
  targetDriver: 'overlay2',
  serverVersion: '20.10.24',
};

/** Removes the state dirs the contexts made (call in afterEach). */
export function removeStepDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function answersFor(stateDir: string, change: Partial<ResolvedAnswers> = {}): ResolvedAnswers {
  return {
    target: 'overlay2',
    images: { include: ['*'], exclude: [], save: true, push: false },
    containers: { include: ['*'], exclude: [], keepWritableLayer: true },
    volumes: { include: ['*'], exclude: [], archive: false },
    backup: { directory: stateDir, dataRoot: 'move' },
    service: { manager: 'systemd', stop: '', start: '', timeoutSeconds: 30 },
    rollbackOnFailure: false,
    ignoreBlockers: [],
    ...change,
  } as ResolvedAnswers;
}

export interface StepTest {
  ctx: MigrationContext;
  docker: FakeDocker;
  store: RunStore;
  /** What the steps said, in order. */
  said: string[];
  /** Runs a step under the runner's bookkeeping (skipped when done). */
  run(stepId: string): Promise<'done' | 'skipped'>;
  /** Runs a step's body again, as `resume` does for a step that was running when the process died. */
  rerun(stepId: string): Promise<void>;
}

/** The plan a run of these answers over this recorded host executes (as `run` builds it). */
function planOf(recorded: RecordedInventory, answers: ResolvedAnswers, store: RunStore): Plan {
  return buildPlan(recorded.inventory, selectInventory(recorded.inventory, answers), answers, {
    dataRoot: '/var/lib/docker',
    runId: store.runId,
    daemonConfigPath: '/etc/docker/daemon.json',
    runDir: store.runDir,
    archiveDir: archiveBaseDir(answers.backup.directory, store.stateDir, store.runId),
    stopCommands: [],
    startCommands: [],
    flagEdits: [],
    orderable: recorded.inspects.map(orderableOf),
  });
}

export async function stepTest(options: {
  recorded: RecordedInventory;
  answers?: (stateDir: string) => ResolvedAnswers;
  docker?: FakeDocker;
  host?: Host;
  steps?: string[];
}): Promise<StepTest> {
  const base = mkdtempSync(join(tmpdir(), 'dmm-steps-'));
  dirs.push(base);
  const stateDir = join(base, 'state');
  const steps = (options.steps ?? []).map((id) => ({ id, title: stepById(id).title }));
  const store = await RunStore.create(stateDir, { dockerHost: 'unix:///fake/docker.sock', daemonConfig: '/etc/docker/daemon.json' }, steps);
  const docker = options.docker ?? new FakeDocker();
  const answers = (options.answers ?? answersFor)(stateDir);
  const said: string[] = [];
  const progress = { say: (text: string) => void said.push(text), transfer: () => undefined };
  const ctx: MigrationContext = {
    store,
    log: () => undefined,
    host: options.host ?? new FixtureHost(join(base, 'root')),
    answers,
    secrets: {},
    recorded: options.recorded,
    plan: planOf(options.recorded, answers, store),
    daemon: { ...DEVICEMAPPER_HOST_DAEMON },
    service: { kind: 'systemd' } as unknown as MigrationContext['service'],
    dockerHost: docker.address,
    env: {},
    signal: new AbortController().signal,
    docker: async () => docker,
    forgetDocker: () => undefined,
    daemonAnswers: async () => true,
  };
  return {
    ctx,
    docker,
    store,
    said,
    run: (stepId) => executeStep(stepById(stepId), ctx, progress),
    rerun: (stepId) => stepById(stepId).run(ctx, progress),
  };
}
