// `run --dry-run` promises every Docker API call and host command of the run. This test holds
// it to that: with the same answers, the dry-run's plan and a real run on a rig dockerd started
// with --debug (which logs each request it serves as `Calling METHOD /v1.41/path`), for a run
// that saves the images and for a push-only one (restored by pull from the rig registry).
// For each step: every call that changes something (POST, PUT, DELETE) the run made is in the
// step's planned calls and every planned one was made (a planned call marked "only if" may be
// missing); every planned read (GET) was made. Host commands come from run.log, which records
// each command the run makes: every planned one ran in its step, and every other one that ran
// is a read-only probe named below. Order inside a step is not compared (saves and pushes run
// two at a time); ids the plan cannot know (new containers, holds) are compared as "<id>".
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, startDockerd, startRegistry, type DaemonHandle, type RegistryHandle } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { cli, createWorkload, currentRun, explain, writeAnswers, type FaultRig } from './fault-common.js';

const PASSWORD_ENV = 'DMM_DRY_RUN_REGISTRY_PASSWORD';

let rig: FaultRig | undefined;
let registry: RegistryHandle | undefined;

beforeAll(async () => {
  await ensureDist();
  const work = mkdtempSync(join(tmpdir(), 'dmm-dry-run-'));
  const started = await Promise.allSettled([startDockerd({ name: 'dry-run', storageDriver: 'vfs', extraArgs: ['--debug'] }), startRegistry({ auth: true })]);
  if (started[1].status === 'fulfilled') registry = started[1].value;
  if (started[0].status === 'rejected') throw started[0].reason;
  const daemon: DaemonHandle = started[0].value;
  rig = { daemon, work, stateDir: join(work, 'state'), answersPath: join(work, 'answers.yaml'), before: undefined as never };
  if (started[1].status === 'rejected') throw started[1].reason;
  await createWorkload(daemon);
  rig.before = await hostSnapshot(daemon);
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([rig?.daemon.stop(), registry?.stop()]);
  if (rig) rmSync(rig.work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

/** One step's calls and commands; `maybe` holds planned ones that depend on what the step finds. */
interface StepTrace {
  changes: Set<string>;
  reads: Set<string>;
  commands: Set<string>;
  maybe: Set<string>;
}

const emptyTrace = (): StepTrace => ({ changes: new Set(), reads: new Set(), commands: new Set(), maybe: new Set() });
const CHANGING = new Set(['POST', 'PUT', 'DELETE']);
/** Query parameters that name what a call acts on; the others (t, force, quiet, …) are how. */
const NAMING_QUERY = new Set(['name', 'names', 'fromImage', 'tag', 'repo']);

/**
 * A call as "METHOD /path?naming-query" with ids the plan cannot know as "<id>": image IDs that
 * are not in the plan (a hold's), bare container ids, and the plan's own "<…>" placeholders.
 */
function normalizeCall(method: string, target: string, knownIds: ReadonlySet<string>): string {
  const [rawPath = '', rawQuery = ''] = target.split('?');
  const path = decodeURIComponent(rawPath)
    .replace(/^\/v1\.\d+/, '')
    .split('/')
    .map((segment) => {
      if (/^<.*>$/.test(segment) || /^[0-9a-f]{64}$/.test(segment)) return '<id>';
      if (/^sha256:[0-9a-f]{64}$/.test(segment) && !knownIds.has(segment)) return '<id>';
      return segment;
    })
    .join('/');
  const query = new URLSearchParams(rawQuery);
  const naming = [...query.entries()].filter(([key]) => NAMING_QUERY.has(key)).map(([key, value]) => `${key}=${value}`);
  return `${method} ${path}${naming.length ? `?${naming.join('&')}` : ''}`;
}

/** The steps of `run --dry-run`'s output, each with the calls and commands listed under it. */
function parseDryRun(stdout: string): { order: string[]; steps: Map<string, StepTrace> } {
  const knownIds = new Set(stdout.match(/sha256:[0-9a-f]{64}/g) ?? []);
  const steps = new Map<string, StepTrace>();
  const order: string[] = [];
  let current: StepTrace | undefined;
  for (const line of stdout.split('\n')) {
    const step = /^\s+[-*] .* \[([a-z0-9-]+)\]$/.exec(line);
    if (step) {
      current = emptyTrace();
      steps.set(step[1]!, current);
      order.push(step[1]!);
      continue;
    }
    if (!current || !line.startsWith('      ')) continue;
    const text = line.trim();
    const conditional = / — only if .*$/.test(text);
    const action = text.replace(/ — only if .*$/, '');
    const api = /^(GET|HEAD|POST|PUT|DELETE) (\/\S*)/.exec(action);
    if (api) {
      const call = normalizeCall(api[1]!, api[2]!, knownIds);
      if (conditional) current.maybe.add(call);
      (CHANGING.has(api[1]!) ? current.changes : current.reads).add(call);
    } else if (action.startsWith('$ ')) {
      const command = action.slice(2);
      if (conditional) current.maybe.add(command);
      current.commands.add(command);
    }
  }
  return { order, steps };
}

/** run.log's lines as [time in ms, text]. */
function runLogLines(runDir: string): [number, string][] {
  return readFileSync(join(runDir, 'run.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => [Date.parse(line.slice(0, line.indexOf(' '))), line.slice(line.indexOf(' ') + 1)]);
}

/**
 * What the real run did, by step: the daemon's "Calling" lines (from the log offset where the
 * run began) go to the step that had started last when the call came (calls before the first
 * step, the inventory and the checks, belong to record-inventory); commands go to the step
 * whose start precedes them in run.log.
 */
function traceRun(daemon: DaemonHandle, logFrom: number, runDir: string, knownIds: ReadonlySet<string>): Map<string, StepTrace> {
  const steps = new Map<string, StepTrace>();
  const starts: [number, string][] = [];
  let current: StepTrace | undefined;
  for (const [time, text] of runLogLines(runDir)) {
    const started = /^step ([a-z0-9-]+): started/.exec(text);
    if (started) {
      current = steps.get(started[1]!) ?? emptyTrace();
      steps.set(started[1]!, current);
      starts.push([time, started[1]!]);
    } else if (text.startsWith('$ ') && current) {
      // The run's id is in the staged data-root's and its private dockerd's paths; the dry run says <run-id>.
      current.commands.add(text.slice(2).split(basename(runDir)).join('<run-id>'));
    }
  }
  expect(starts.length).toBeGreaterThan(0);
  const log = readFileSync(daemon.logFile).subarray(logFrom).toString('utf8');
  for (const line of log.split('\n')) {
    const call = /^time="([^"]+)" level=debug msg="Calling (GET|HEAD|POST|PUT|DELETE) ([^"\s]+)"/.exec(line);
    if (!call) continue;
    // Nanoseconds to milliseconds, as run.log has them.
    const time = Date.parse(call[1]!.replace(/(\.\d{3})\d*/, '$1'));
    const owner = [...starts].reverse().find(([start]) => start <= time)?.[1] ?? starts[0]![1];
    const trace = steps.get(owner)!;
    const normalized = normalizeCall(call[2]!, call[3]!, knownIds);
    (CHANGING.has(call[2]!) ? trace.changes : trace.reads).add(normalized);
  }
  return steps;
}

/**
 * Commands a step may run without the plan naming them one by one: they read and change
 * nothing. `ip -o -4 addr show` finds the bridges a stopped daemon left; getfattr reads a
 * volume's extended attributes while it is archived or read; verify reads the host's facts
 * (the engine's version, LVM, the data-root's file system), as its planned action says.
 */
const READ_ONLY_PROBES = [
  /^ip -o -4 addr show$/,
  /^getfattr /,
  /^\S*dockerd --version$/,
  /^(pvs|vgs|lvs) --reportformat json /,
  /^stat -f /,
  /^(tune2fs -l|xfs_info) /,
  /^lsblk /,
  /^blkid /,
];

const sorted = (set: Iterable<string>) => [...set].sort();
const minus = (a: Iterable<string>, b: ReadonlySet<string>) => sorted([...a].filter((x) => !b.has(x)));

/** Dry-run, then the real run with the same answers; compares them step by step; rolls back. */
async function compareDryRunWithRun(name: string, answers: string, env: NodeJS.ProcessEnv): Promise<void> {
  const r = rig!;
  writeAnswers(r, { extra: answers });
  const dry = await cli(r, ['run', '--answers', r.answersPath, '--dry-run'], env, join(r.work, `${name}-dry`));
  expect(dry.code, explain(r, dry, 'run --dry-run')).toBe(0);
  const planned = parseDryRun(dry.stdout);
  const knownIds = new Set(dry.stdout.match(/sha256:[0-9a-f]{64}/g) ?? []);

  const stateDir = join(r.work, `${name}-run`);
  const logFrom = statSync(r.daemon.logFile).size;
  const result = await cli(r, ['run', '--answers', r.answersPath, '--yes'], env, stateDir);
  try {
    expect(result.code, explain(r, result, 'run')).toBe(0);
    compareSteps(planned, traceRun(r.daemon, logFrom, currentRun(stateDir).runDir, knownIds), dry.stdout);
  } finally {
    // The next comparison starts from the host as it was (a run that never began has nothing to undo).
    if (existsSync(join(stateDir, 'current'))) {
      const rolledBack = await cli(r, ['rollback', '--yes'], env, stateDir);
      expect(rolledBack.code, explain(r, rolledBack, 'rollback')).toBe(0);
    }
  }
}

/** The plan's calls and commands against the run's, step by step (see the top of the file). */
function compareSteps(planned: ReturnType<typeof parseDryRun>, ran: Map<string, StepTrace>, dryRunText: string): void {
  expect([...ran.keys()]).toEqual(planned.order);
  const problems: string[] = [];
  for (const id of planned.order) {
    const plan = planned.steps.get(id)!;
    const real = ran.get(id)!;
    const unplanned = minus(real.changes, plan.changes);
    const notMade = minus(plan.changes, new Set([...real.changes, ...plan.maybe]));
    const unread = minus(plan.reads, real.reads);
    const commandsNotRun = minus(plan.commands, new Set([...real.commands, ...plan.maybe]));
    const commandsUnplanned = minus(real.commands, plan.commands).filter((c) => !READ_ONLY_PROBES.some((probe) => probe.test(c)));
    for (const [what, list] of [
      ['made but not planned', unplanned],
      ['planned but not made', notMade],
      ['planned reads not made', unread],
      ['planned commands not run', commandsNotRun],
      ['commands run but not planned', commandsUnplanned],
    ] as const) {
      if (list.length) problems.push(`${id}: ${what}: ${list.join(', ')}`);
    }
  }
  expect(problems, `dry-run:\n${dryRunText}`).toEqual([]);
  // The steps that change the daemon did, and were compared: not two empty lists.
  // Staged, load-images only checks what stage-images loaded (on the private dockerd, whose calls are not in this log: its commands are compared).
  const changing = ['stop-containers', ...(planned.order.includes('stage-images') ? [] : ['load-images']), 'create-networks', 'create-containers', 'start-containers'];
  if (planned.order.includes('stage-images')) expect(planned.steps.get('stage-images')!.commands.size).toBeGreaterThan(3);
  expect(changing.filter((id) => !ran.get(id)?.changes.size)).toEqual([]);
}

describe('run --dry-run lists what the run then does', () => {
  it('for a run that saves the images', async () => {
    await compareDryRunWithRun('save', 'containers:\n  keepWritableLayer: true\nstaging: on', {});
  }, 900_000);

  it('for a push-only run, restored by pull from the registry', async () => {
    const r = registry!;
    const answers = ['images:', '  save: false', '  push: true', 'registry:', `  address: ${r.address}`, '  repositoryPrefix: dry-run/', `  username: ${r.username}`, `  passwordEnv: ${PASSWORD_ENV}`].join('\n');
    await compareDryRunWithRun('push', answers, { [PASSWORD_ENV]: r.password });
  }, 900_000);
});
