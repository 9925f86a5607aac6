// What the migration scenarios (issue 7, 1-5) left behind: the tool's saved runs, how far the
// scenario got, and a summary of `docker info` for the test log.
import { dockerInfo, outputFile } from './results.js';
import type { GuestResult } from './vm.js';

/** One tool invocation a scenario kept with `dmm_tool_saved NAME.txt ...`. */
export interface ToolRun {
  rc: number;
  seconds: number;
  stdout: string;
  stderr: string;
}

/** The invocation saved as NAME.{txt,stderr,rc,seconds}; undefined when the scenario never got there. */
export function toolRun(result: GuestResult, name: string): ToolRun | undefined {
  const rc = result.files[`${name}.rc`];
  if (rc === undefined) return undefined;
  return {
    rc: Number(rc.trim()),
    seconds: Number(result.files[`${name}.seconds`]?.trim() ?? NaN),
    stdout: result.files[`${name}.txt`] ?? '',
    stderr: result.files[`${name}.stderr`] ?? '',
  };
}

/** The stages the scenario reached (`stage NAME` lines in stage.txt). */
export function stages(result: GuestResult): string[] {
  return (result.files['stage.txt'] ?? '').split('\n').filter(Boolean);
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Everything needed to see why an assertion on a guest failed: stage, FAIL lines, the tool's output, its run.log. */
export function explain(result: GuestResult, name?: string, runFiles?: string): string {
  const parts = [`guest exit ${result.exitCode}; stages reached: ${stages(result).join(', ') || 'none'}`];
  const failures = result.console.split('\n').filter((l) => /FAIL: /.test(l));
  if (failures.length) parts.push(`scenario failures:\n${failures.join('\n')}`);
  const checks = result.files['check-failures.txt'];
  if (checks) parts.push(`failed checks (stage: FAIL message):\n${checks.trim()}`);
  const net = result.console.split('\n').filter((l) => /\] net: /.test(l));
  if (net.length) parts.push(`network facts when a check failed:\n${net.join('\n')}`);
  if (name) {
    const run = toolRun(result, name);
    if (run) {
      parts.push(`--- ${name}: exit ${run.rc} after ${run.seconds} s`);
      parts.push(`--- ${name} stdout (tail)\n${tail(run.stdout, 40)}`);
      parts.push(`--- ${name} stderr (tail)\n${tail(run.stderr, 40)}`);
    } else {
      parts.push(`--- ${name}: never ran`);
    }
  }
  const log = runFiles ? result.files[`run-${runFiles}/run.log`] : undefined;
  if (log) parts.push(`--- run.log (${runFiles}, tail)\n${tail(log, 40)}`);
  parts.push(`--- console (tail)\n${tail(result.console, 25)}`);
  return parts.join('\n');
}

/** One line per saved `docker info`: the driver and the storage facts that tell the modes apart. */
export function describeDockerInfo(result: GuestResult, label: string): string {
  if (result.files[`docker-info-${label}.json`] === undefined) return `docker info (${label}): not taken`;
  const info = dockerInfo(result, label);
  const keys = ['Pool Name', 'Data loop file', 'Backing Filesystem', 'Supports d_type', 'Data file'];
  const facts = keys.filter((k) => info.status.has(k)).map((k) => `${k}: ${info.status.get(k)}`);
  return `docker info (${label}): Storage Driver: ${info.Driver}${facts.length ? `; ${facts.join('; ')}` : ''}`;
}

/** The checks that failed in the guest, one "stage: FAIL message" line each. */
export function failedChecks(result: GuestResult): string[] {
  return (result.files['check-failures.txt'] ?? '').split('\n').filter(Boolean);
}

/** Prints the driver before and after each step and the tool's timings into the test log. */
export function logSummary(scenario: string, result: GuestResult, infoLabels: string[], runs: string[]): void {
  const lines = [`${scenario}: guest wall time ${(result.wallMs / 1000).toFixed(1)} s, exit ${result.exitCode}, stages: ${stages(result).join(', ') || 'none'}`];
  for (const label of infoLabels) lines.push(`  ${describeDockerInfo(result, label)}`);
  for (const name of runs) {
    const run = toolRun(result, name);
    lines.push(run ? `  devmapper-migrate (${name}): exit ${run.rc} in ${run.seconds} s` : `  devmapper-migrate (${name}): not run`);
  }
  for (const failure of failedChecks(result)) lines.push(`  failed check: ${failure}`);
  console.log(lines.join('\n'));
}

/** A file the scenario must have written (re-exported for the scenario tests). */
export { outputFile };
