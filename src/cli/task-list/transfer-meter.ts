/**
 * Bytes done, total, rate and time left of one step's long unit (an image's save, a volume's
 * archive): "app/web:1.0: 212 MB of 1.1 GB, 48 MB/s, 19 s left".
 */
import { formatBytes, formatDuration } from '../../report/format.js';

export interface TransferUpdate {
  label: string;
  doneBytes: number;
  totalBytes?: number;
}

/** The rate is measured over this much recent history: steady enough to read, quick to follow a change. */
const WINDOW_MS = 10_000;
/** Below this much history a rate is noise (the first chunk after a pause), so none is shown. */
const MIN_SPAN_MS = 500;

interface Sample {
  at: number;
  bytes: number;
}

/**
 * Tracks one step's transfers, each label (an image, a volume) on its own: two saves at once
 * each keep their rate. Bytes going backwards (a unit redone) start that label's measurement again.
 */
export class TransferMeter {
  private readonly samplesByLabel = new Map<string, Sample[]>();

  /** Records an update at `now` (ms) and returns its line. */
  update(update: TransferUpdate, now: number): string {
    let samples = this.samplesByLabel.get(update.label) ?? [];
    const last = samples[samples.length - 1];
    if (last && update.doneBytes < last.bytes) samples = [];
    samples.push({ at: now, bytes: update.doneBytes });
    while (samples.length > 2 && now - samples[1]!.at >= WINDOW_MS) samples.shift();
    this.samplesByLabel.set(update.label, samples);
    return formatTransfer(update, rateOf(samples));
  }

  /** Bytes per second of `label` over the window, or undefined while there is too little history. */
  rate(label: string): number | undefined {
    return rateOf(this.samplesByLabel.get(label) ?? []);
  }
}

function rateOf(samples: readonly Sample[]): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at - first.at < MIN_SPAN_MS) return undefined;
  return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
}

/** "label: 212 MB of 1.1 GB, 48 MB/s, 19 s left"; parts without data are left out. */
export function formatTransfer(update: TransferUpdate, bytesPerSecond?: number): string {
  // A total is an estimate (an image's size before `docker save` adds tar headers): once the
  // transfer passes it, "2.1 MB of 2.0 MB" would be nonsense, so only the bytes are shown.
  const total = update.totalBytes !== undefined && update.doneBytes <= update.totalBytes ? update.totalBytes : undefined;
  const parts = [total !== undefined ? `${formatBytes(update.doneBytes)} of ${formatBytes(total)}` : formatBytes(update.doneBytes)];
  if (bytesPerSecond !== undefined) {
    parts.push(`${formatBytes(bytesPerSecond)}/s`);
    if (total !== undefined && total > update.doneBytes && bytesPerSecond > 0) {
      parts.push(`${formatDuration((total - update.doneBytes) / bytesPerSecond)} left`);
    }
  }
  return `${update.label}: ${parts.join(', ')}`;
}
