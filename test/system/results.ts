// Reading what a guest left behind: its `docker info` JSON and the files of a scenario.
import type { ReportEntry } from '../../src/report/entry.js';
import type { GuestResult } from './vm.js';

export interface DockerInfo {
  Driver: string;
  /** `docker info`'s DriverStatus pairs, e.g. "Pool Name" → "docker-thinpool". */
  status: Map<string, string>;
}

/** A file the scenario wrote to $DMM_OUT; fails with the console's tail when it is missing. */
export function outputFile(result: GuestResult, name: string): string {
  const content = result.files[name];
  if (content === undefined) {
    const tail = result.console.split('\n').slice(-30).join('\n');
    throw new Error(`the guest wrote no ${name} (exit ${result.exitCode}); console tail:\n${tail}`);
  }
  return content;
}

/** The `docker info` a scenario saved with `dmm_docker_info LABEL`. */
export function dockerInfo(result: GuestResult, label: string): DockerInfo {
  const raw = JSON.parse(outputFile(result, `docker-info-${label}.json`)) as {
    Driver: string;
    DriverStatus: [string, string][] | null;
  };
  return { Driver: raw.Driver, status: new Map(raw.DriverStatus ?? []) };
}

/** An exit code a scenario saved as `<name>.rc`. */
export function savedExitCode(result: GuestResult, name: string): number {
  return Number(outputFile(result, `${name}.rc`).trim());
}

/** The part of `preflight --json` the system tests read (the full shape is src/cli/commands/preflight.ts). */
export interface PreflightJson {
  entries: ReportEntry[];
  summary: { blockers: number; warnings: number };
}

/** The `preflight --json` output a scenario saved as preflight.json. */
export function preflightReport(result: GuestResult): PreflightJson {
  return JSON.parse(outputFile(result, 'preflight.json')) as PreflightJson;
}

/** One line per entry, for assertion messages. */
export function describeEntries(report: PreflightJson): string {
  return report.entries.map((e) => `${e.severity} ${e.key}: ${e.title}`).join('\n');
}
