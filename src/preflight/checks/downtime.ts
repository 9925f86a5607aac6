/** How long containers are down: the work between stopping them and starting them again. */
import type { ContainerRecord } from '../../docker/types.js';
import { startWaves, stopWaves } from '../../plan/container-order.js';
import { formatBytes, formatDuration } from '../../report/format.js';
import type { Analysis } from '../analysis.js';
import { entry, type Check } from '../entry.js';

/**
 * Throughputs assumed, from measurements on a test machine: docker load
 * ~150 MB/s, docker save ~130 MB/s, tar of files ~400 MB/s. Yours will differ; the numbers
 * behind the estimate are in the entry's details.
 */
export const RATES = {
  loadBytesPerSecond: 150e6,
  saveBytesPerSecond: 130e6,
  copyBytesPerSecond: 400e6,
  /** Creating one container on the new daemon (they are created one by one). */
  createSecondsPerContainer: 1,
  /** Starting one wave of containers (every container of a wave at once). */
  startSecondsPerWave: 1,
  /** Stopping and starting dockerd, rewriting its configuration. */
  daemonRestartSeconds: 30,
  /** lvcreate, lvconvert and the first start on a new pool. */
  poolCreateSeconds: 60,
};

export interface DowntimeEstimate {
  totalSeconds: number;
  parts: { what: string; bytes?: number; seconds: number }[];
}

/** What the engine waits before SIGKILL when a container sets no stop timeout (`docker stop`'s default). */
export const ENGINE_DEFAULT_STOP_TIMEOUT = 10;

/**
 * Stopping and starting the containers, computed as the run does it: the running ones are
 * stopped in the waves of stopWaves, each wave at once, so a wave costs at most its longest stop
 * timeout (a container that honours SIGTERM stops sooner); all are created one by one and the
 * running ones started in the waves of startWaves.
 */
function containerParts(containers: readonly ContainerRecord[]): DowntimeEstimate['parts'] {
  const running = containers.filter((c) => c.running);
  const timeoutOf = new Map(running.map((c) => [c.name, c.stopTimeout ?? ENGINE_DEFAULT_STOP_TIMEOUT]));
  const stops = stopWaves(running);
  const stopSeconds = stops.reduce((sum, wave) => sum + Math.max(...wave.map((name) => timeoutOf.get(name) ?? ENGINE_DEFAULT_STOP_TIMEOUT)), 0);
  const starts = startWaves(running);
  return [
    { what: `stop ${running.length} running container(s) in ${stops.length} wave(s), each at most its longest stop timeout`, seconds: stopSeconds },
    {
      what: `create ${containers.length} container(s), start ${running.length} in ${starts.length} wave(s)`,
      seconds: containers.length * RATES.createSecondsPerContainer + starts.length * RATES.startSecondsPerWave,
    },
  ];
}

/** The downtime of the run's quiesce → cutover → restore phases, from the inventory. */
export function estimateDowntime(a: Analysis): DowntimeEstimate {
  const e = a.estimate;
  const parts: DowntimeEstimate['parts'] = [];
  if (e.containerCount > 0) parts.push(...containerParts(a.inventory.containers));
  if (e.writableBytes > 0) {
    // committed after the stop, saved, and loaded again on the new driver
    const rate = 1 / (1 / RATES.copyBytesPerSecond + 1 / RATES.saveBytesPerSecond + 1 / RATES.loadBytesPerSecond);
    parts.push({ what: 'keep writable layers (commit, save, load)', bytes: e.writableBytes, seconds: e.writableBytes / rate });
  }
  if (e.volumesBytes > 0) {
    parts.push({ what: 'carry volume data to the new data-root', bytes: e.volumesBytes, seconds: e.volumesBytes / RATES.copyBytesPerSecond });
    if (a.options.archiveVolumes) {
      parts.push({ what: 'archive volumes', bytes: e.volumesBytes, seconds: e.volumesBytes / RATES.copyBytesPerSecond });
    }
  }
  parts.push({ what: 'stop and start dockerd', seconds: RATES.daemonRestartSeconds });
  if (a.options.target === 'direct-lvm') parts.push({ what: 'create the thin pool', seconds: RATES.poolCreateSeconds });
  // Pre-staged, they are loaded by a private dockerd while the containers still run.
  if (e.imagesBytes > 0 && !a.options.staged) {
    parts.push({ what: 'load images into the new driver', bytes: e.imagesBytes, seconds: e.imagesBytes / RATES.loadBytesPerSecond });
  }
  return { totalSeconds: parts.reduce((sum, p) => sum + p.seconds, 0), parts };
}

/**
 * Whether the image loads are in the window: a run says what it decided; the preflight command
 * has no plan (no answers, no staging decision), so it counts them and says when a run does not.
 */
function imageLoadsNote(staged: boolean | undefined): string {
  if (staged === true) return ', nor the image loads: they are pre-staged before the stop';
  if (staged === undefined) return '; the image loads count: a run that pre-stages them (staging: auto, where it can) loads them before the stop, and the estimate it prints leaves them out';
  return '';
}

export const downtimeCheck: Check = {
  name: 'downtime estimate',
  keys: ['downtime-estimate'],
  run(a: Analysis) {
    if (a.alreadyOnTarget) return [];
    const d = estimateDowntime(a);
    const lines = d.parts.map((p) => `${p.what}${p.bytes !== undefined ? ` (${formatBytes(p.bytes)})` : ''}: ${formatDuration(p.seconds)}`);
    return [
      entry(
        'downtime-estimate',
        'info',
        `Estimated downtime: about ${formatDuration(d.totalSeconds)}`,
        `Containers are down from their stop until the restore: ${lines.join('; ')}. ` +
          `Assumed rates: load ${formatBytes(RATES.loadBytesPerSecond)}/s, copy ${formatBytes(RATES.copyBytesPerSecond)}/s, a stop timeout of ${ENGINE_DEFAULT_STOP_TIMEOUT} s where a container sets none, ${RATES.createSecondsPerContainer} s to create a container and ${RATES.startSecondsPerWave} s to start a wave, ${RATES.daemonRestartSeconds} s for the daemon. ` +
          `Image archives are written before the stop and do not count${imageLoadsNote(a.options.staged)}.`,
        undefined,
        { totalSeconds: Math.round(d.totalSeconds), parts: d.parts, rates: RATES },
      ),
    ];
  },
};
