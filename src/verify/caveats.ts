/**
 * What a run could not keep, for its report: warnings beside verify's differences (they are
 * known and said before the run, not something that went wrong).
 */
import type { ContainerRecord } from '../docker/types.js';
import { sortEntries, type ReportEntry } from '../report/entry.js';
import { formatDuration } from '../report/format.js';
import type { RunState, StepRecord } from '../state/types.js';
import type { VerifyResult } from './types.js';

/**
 * What a finished run's report says beside verify's differences: what its writable layers and
 * its stopped containers could not keep, and the downtime it caused.
 */
export function runCaveats(state: Pick<RunState, 'units' | 'steps' | 'notes'>, containers: readonly ContainerRecord[]): ReportEntry[] {
  return [
    ...writableLayerCaveats(state.units),
    ...stoppedContainerCaveats(containers),
    ...containerLogsCaveat(containers),
    ...measuredDowntime(state.steps, state.notes[DOWNTIME_ESTIMATE_NOTE]),
  ];
}

/** The recreated containers' logs start empty: the run carries no json-file (or local) logs. */
export function containerLogsCaveat(containers: readonly ContainerRecord[]): ReportEntry[] {
  if (containers.length === 0) return [];
  return [
    {
      key: 'container-logs-not-carried',
      severity: 'info',
      title: "Containers' logs were not carried",
      summary:
        `${containers.length} container(s) were recreated, and \`docker logs\` of each starts empty: the run carries no logs. ` +
        "json-file and local logs stay in the kept data-root's containers/<old id>/ directory until finalize deletes it; logs sent to journald, syslog or a remote driver stay where they went.",
      remediation: "Copy the old logs you need out of the kept data-root's containers/ directory before `devmapper-migrate finalize`.",
      details: { containers: containers.map((c) => ({ name: c.name, oldId: c.id })) },
    },
  ];
}

/** The run note that holds preflight's downtime estimate, in seconds. */
export const DOWNTIME_ESTIMATE_NOTE = 'downtimeEstimateSeconds';

/**
 * The downtime the run really caused, beside preflight's estimate: from the moment the
 * containers began to stop to the moment the last one was started again. Nothing when the run
 * has not got that far.
 */
export function measuredDowntime(steps: readonly StepRecord[], estimateSeconds: unknown): ReportEntry[] {
  const from = Date.parse(steps.find((s) => s.id === 'stop-containers')?.startedAt ?? '');
  const started = steps.find((s) => s.id === 'start-containers');
  const to = Date.parse(started?.status === 'done' ? (started.endedAt ?? '') : '');
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) return [];
  const seconds = (to - from) / 1000;
  const estimate = typeof estimateSeconds === 'number' ? estimateSeconds : undefined;
  return [
    {
      key: 'downtime-measured',
      severity: 'info',
      title: `Downtime: ${formatDuration(seconds)}${estimate !== undefined ? ` (estimated about ${formatDuration(estimate)})` : ''}`,
      summary: `The containers were down for ${formatDuration(seconds)}, from the start of their stop to the end of their start${estimate !== undefined ? `; preflight estimated about ${formatDuration(estimate)}` : ''}.`,
      remediation: 'Nothing to do; plan the next hosts\' maintenance windows with this figure.',
      details: { seconds: Math.round(seconds * 10) / 10, estimateSeconds: estimate ?? null },
    },
  ];
}

/** How many deleted paths a report entry names; the rest are counted (run.log has them all). */
const NAMED_PATHS = 20;

/**
 * One warning per container whose writable layer had deleted paths: the API can add and change
 * files in a new container, not delete its image's, so they are back after the restore.
 */
export function writableLayerCaveats(units: Record<string, { details?: unknown } | undefined>): ReportEntry[] {
  const entries: ReportEntry[] = [];
  for (const [key, unit] of Object.entries(units)) {
    if (!key.startsWith('layer:')) continue;
    const deleted = (unit?.details as { deleted?: unknown } | undefined)?.deleted;
    if (!Array.isArray(deleted) || deleted.length === 0) continue;
    const container = key.slice('layer:'.length);
    const named = deleted.slice(0, NAMED_PATHS).join(', ');
    const more = deleted.length > NAMED_PATHS ? ` and ${deleted.length - NAMED_PATHS} more` : '';
    entries.push({
      key: 'writable-layer-deletion-not-kept',
      severity: 'warning',
      title: `Files deleted inside ${container} are back`,
      summary: `${deleted.length} path(s) of its image had been deleted in the container's writable layer and are there again: ${named}${more}.`,
      remediation: `If the container needs them gone, delete them again (docker exec ${container} rm ...), or rebuild its image without them.`,
      details: { container, deleted },
    });
  }
  return entries;
}

/**
 * One note for the containers that had run and stopped: they are recreated and not started (as
 * the contract says), so `docker ps -a` shows them "Created", without their exit code and time.
 * Starting and stopping them to get "Exited" back would run their command.
 */
export function stoppedContainerCaveats(containers: readonly ContainerRecord[]): ReportEntry[] {
  const stopped = containers.filter((c) => c.state === 'exited' || c.state === 'dead').map((c) => c.name);
  if (stopped.length === 0) return [];
  return [
    {
      key: 'stopped-container-shows-created',
      severity: 'info',
      title: 'Stopped containers now show "Created"',
      summary: `${stopped.length} container(s) that had stopped before the run were recreated and not started, so \`docker ps -a\` shows them as Created, without their exit code or time: ${stopped.join(', ')}.`,
      remediation: 'Nothing to do: `docker start <name>` starts each as before. Their last exit code and logs are in the old data-root until finalize.',
      details: { containers: stopped },
    },
  ];
}

/** The result with the run's caveats among its entries; the differences count stays as it is. */
export function withCaveats(result: VerifyResult, caveats: readonly ReportEntry[]): VerifyResult {
  return caveats.length ? { ...result, entries: sortEntries([...result.entries, ...caveats]) } : result;
}
