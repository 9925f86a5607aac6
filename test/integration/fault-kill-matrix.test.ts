// The kill matrix (issue 10): the CLI is killed with SIGKILL (the test-only hook
// DEVMAPPER_MIGRATE_TEST_KILL_AT) before and after every step of an overlay2 run with
// volumes.archive and images.push (to a rig registry, a repository prefix per rig daemon), and
// in the middle of every long step. From each point, on one rig daemon,
// `resume --yes` must reach exit 0, a clean `verify` and the original host on overlay2; and,
// separately, `rollback --yes` from the same point must reach exit 0 and the original host on
// vfs. Every (point, track) pair is a task for one of a few rig daemons working side by side;
// each daemon is reused (a rolled-back host is migrated again from a fresh state dir; after a
// resumed run, a rollback puts it back, and is checked too). The matrix is printed; DMM_UPDATE_DOCS=1 also writes
// it into docs/reliability.md and the README.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, REPO_ROOT, startRegistry, type RegistryHandle, type RunResult } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { cli, differences, KILLED, plannedSteps, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

/** Steps that call the hook's "middle" point after their first unit of work. */
const LONG_STEPS = new Set(['save-images', 'push-images', 'stage-images', 'save-writable-layers', 'archive-volumes', 'load-images', 'create-containers']);

interface Cell {
  ok: boolean;
  /** What went wrong (empty when ok). */
  why: string;
  seconds: number;
}

interface Row {
  point: string;
  resume?: Cell;
  rollback?: Cell;
}

/** Rig daemons working the queue side by side (2 cores: most of a run is waiting for dockerd). */
const WORKERS = 3;
const rigs: FaultRig[] = [];
let registry: RegistryHandle | undefined;
let points: string[] = [];

beforeAll(async () => {
  await ensureDist();
  const started = await Promise.allSettled(Array.from({ length: WORKERS }, (_, n) => setUpRig(`kill-${n + 1}`)));
  for (const result of started) if (result.status === 'fulfilled') rigs.push(result.value);
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  registry = await startRegistry({ auth: false });
  // Each rig daemon pushes under its own prefix: the same tags from three daemons would overwrite each other.
  rigs.forEach((rig, n) => writeAnswers(rig, { extra: ['images:', '  push: true', 'registry:', `  address: ${registry!.address}`, `  repositoryPrefix: kill-${n + 1}/`].join('\n') }));
  const steps = await plannedSteps(rigs[0]!);
  expect(steps).toContain('push-images');
  points = steps.flatMap((id) => [`${id}:before`, ...(LONG_STEPS.has(id) ? [`${id}:middle`] : []), `${id}:after`]);
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([...rigs.map((rig) => tearDown(rig)), registry?.stop()]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

function short(result: RunResult): string {
  // The last lines say why; notes (a stale lock taken over from the killed process) do not.
  const said = `${result.stderr}\n${result.stdout}`.trim().split('\n').filter((line) => line && !line.startsWith('Note: ')).slice(-3).join(' | ');
  return `exit ${result.code}: ${said.slice(0, 400)}`;
}

/** Starts a run from a fresh state dir and expects it to die at `point`. */
async function runKilledAt(rig: FaultRig, point: string, stateDir: string): Promise<string | undefined> {
  const killed = await cli(rig, ['run', '--answers', rig.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: point }, stateDir);
  if (killed.code !== KILLED) return `the run was not killed at ${point} (${short(killed)})`;
  return undefined;
}

/** Kill at `point`, resume to exit 0, verify clean, compare; then roll back to reset the host for the next point. */
async function resumeFrom(rig: FaultRig, point: string, n: number): Promise<{ cell: Cell; reset: string | undefined }> {
  const started = Date.now();
  const stateDir = join(rig.work, `state-resume-${n}`);
  const cell = (why: string): Cell => ({ ok: why === '', why, seconds: Math.round((Date.now() - started) / 1000) });
  const notKilled = await runKilledAt(rig, point, stateDir);
  let why = notKilled ?? '';
  if (!why) {
    const resumed = await cli(rig, ['resume', '--yes'], {}, stateDir);
    if (resumed.code !== 0) why = `resume: ${short(resumed)}`;
  }
  if (!why) {
    const verify = await cli(rig, ['verify'], {}, stateDir);
    if (verify.code !== 0) why = `verify: ${short(verify)}`;
  }
  if (!why) why = differences(rig.before, await hostSnapshot(rig.daemon), 'overlay2').join('; ');
  const result = cell(why);
  // Back to vfs for the next point (also after a failure: the next point needs the original host).
  const rollback = await cli(rig, ['rollback', '--yes'], {}, stateDir);
  const left = differences(rig.before, await hostSnapshot(rig.daemon), 'vfs');
  // Only a host that is not back as it was spoils the next points (a refused rollback of a run that changed nothing does not).
  const reset = left.length === 0 ? undefined : `the host could not be reset after ${point}: rollback ${short(rollback)}; ${left.join('; ')}`;
  return { cell: result, reset };
}

/** Kill at `point`, roll back to exit 0, compare with the original host on vfs. */
async function rollbackFrom(rig: FaultRig, point: string, n: number): Promise<{ cell: Cell; reset: string | undefined }> {
  const started = Date.now();
  const stateDir = join(rig.work, `state-rollback-${n}`);
  let why = (await runKilledAt(rig, point, stateDir)) ?? '';
  if (!why) {
    const rolledBack = await cli(rig, ['rollback', '--yes'], {}, stateDir);
    if (rolledBack.code !== 0) why = `rollback: ${short(rolledBack)}`;
  }
  const left = differences(rig.before, await hostSnapshot(rig.daemon), 'vfs');
  if (!why) why = left.join('; ');
  const cell = { ok: why === '', why, seconds: Math.round((Date.now() - started) / 1000) };
  return { cell, reset: left.length ? `host not back to its original after ${point}: ${left.join('; ')}` : undefined };
}

interface Task {
  row: Row;
  kind: 'resume' | 'rollback';
  index: number;
}

/**
 * One worker per rig daemon takes the next task (a point and a track) from the shared queue
 * until it is empty. A rig whose host cannot be put back stops taking tasks; the other
 * workers finish the queue.
 */
async function worker(rig: FaultRig, queue: Task[]): Promise<void> {
  for (let task = queue.shift(); task; task = queue.shift()) {
    const { cell, reset } = await (task.kind === 'resume' ? resumeFrom : rollbackFrom)(rig, task.row.point, task.index);
    task.row[task.kind] = cell;
    console.log(`[kill-matrix] ${rig.daemon.name} ${task.kind.padEnd(8)} ${task.row.point.padEnd(28)} ${cell.ok ? 'ok' : `FAILED: ${cell.why}`} (${cell.seconds} s)`);
    if (reset) {
      console.log(`[kill-matrix] ${rig.daemon.name} stops: ${reset}`);
      return;
    }
  }
}

function formatMatrix(rows: readonly Row[]): string {
  const mark = (cell: Cell | undefined) => (cell === undefined ? '?' : cell.ok ? 'ok' : 'FAIL');
  const width = Math.max(...rows.map((r) => r.point.length), 'kill point'.length);
  const lines = [`${'kill point'.padEnd(width)} | resume | rollback`, `${'-'.repeat(width)}-|--------|---------`];
  for (const row of rows) lines.push(`${row.point.padEnd(width)} | ${mark(row.resume).padEnd(6)} | ${mark(row.rollback)}`);
  const failures = rows.flatMap((r) => [
    ...(r.resume && !r.resume.ok ? [`resume from ${r.point}: ${r.resume.why}`] : []),
    ...(r.rollback && !r.rollback.ok ? [`rollback from ${r.point}: ${r.rollback.why}`] : []),
  ]);
  return `${lines.join('\n')}\n${failures.length ? `\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}`;
}

/** Replaces the block between the matrix markers in docs/reliability.md and the README's reliability section. */
function writeDocs(matrix: string): void {
  const begin = '<!-- kill-matrix:begin -->';
  const end = '<!-- kill-matrix:end -->';
  const stamp = `Generated by test/integration/fault-kill-matrix.test.ts (DMM_UPDATE_DOCS=1) on ${new Date().toISOString().slice(0, 10)}.`;
  for (const file of [join(REPO_ROOT, 'docs', 'reliability.md'), join(REPO_ROOT, 'README.md')]) {
    const text = readFileSync(file, 'utf8');
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${file} has no ${begin} … ${end} block`);
    writeFileSync(file, `${text.slice(0, from + begin.length)}\n${stamp}\n\n\`\`\`text\n${matrix.trimEnd()}\n\`\`\`\n${text.slice(to)}`);
  }
}

// Found by this test and fixed (row record-inventory:before): a run killed before
// record-inventory wrote inventory.json was stuck, `resume` and `rollback` missing the file and
// `run` refusing while that run was open. A run's documents are now written before it becomes
// the current run.
describe('kill -9 at every step boundary and in the middle of every long step', () => {
  it('resume reaches a clean verify, and rollback the original host, from every point', async () => {
    expect(points.length).toBeGreaterThan(30);
    const rows: Row[] = points.map((point) => ({ point }));
    // Resume tasks take longer (a whole run and a rollback): interleaved, the workers stay even.
    const queue: Task[] = rows.flatMap((row, index) => [{ row, kind: 'resume' as const, index }, { row, kind: 'rollback' as const, index }]);
    await Promise.all(rigs.map((rig) => worker(rig, queue)));
    for (const row of rows) {
      for (const kind of ['resume', 'rollback'] as const) row[kind] ??= { ok: false, why: 'not run: every rig daemon was spoilt by an earlier point', seconds: 0 };
    }
    const matrix = formatMatrix(rows);
    console.log(`\n${matrix}`);
    if (process.env.DMM_UPDATE_DOCS === '1') writeDocs(matrix);
    const failed = rows.filter((r) => !r.resume?.ok || !r.rollback?.ok);
    expect(failed.map((r) => r.point), matrix).toEqual([]);
  }, 1_500_000);
});
