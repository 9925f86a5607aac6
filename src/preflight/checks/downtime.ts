/** How long containers are down: the work between stopping them and starting them again. */
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
  /** Stop (default stop timeout 10 s) and, later, create and start one container. */
  secondsPerContainer: 12,
  /** Stopping and starting dockerd, rewriting its configuration. */
  daemonRestartSeconds: 30,
  /** lvcreate, lvconvert and the first start on a new pool. */
  poolCreateSeconds: 60,
};

export interface DowntimeEstimate {
  totalSeconds: number;
  parts: { what: string; bytes?: number; seconds: number }[];
}

/** The downtime of the run's quiesce → cutover → restore phases, from the inventory. */
export function estimateDowntime(a: Analysis): DowntimeEstimate {
  const e = a.estimate;
  const parts: DowntimeEstimate['parts'] = [];
  parts.push({ what: `stop and recreate ${e.runningCount} running of ${e.containerCount} containers`, seconds: e.containerCount > 0 ? e.runningCount * RATES.secondsPerContainer : 0 });
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
          `Assumed rates: load ${formatBytes(RATES.loadBytesPerSecond)}/s, copy ${formatBytes(RATES.copyBytesPerSecond)}/s, ${RATES.secondsPerContainer} s per container, ${RATES.daemonRestartSeconds} s for the daemon. ` +
          `Image archives are written before the stop and do not count${a.options.staged ? ', nor the image loads: they are pre-staged before the stop' : ''}.`,
        undefined,
        { totalSeconds: Math.round(d.totalSeconds), parts: d.parts, rates: RATES },
      ),
    ];
  },
};
