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

/** Tracks one step's transfers; a new label (or bytes going backwards) starts a new measurement. */
export class TransferMeter {
  private label: string | undefined;
  private samples: Sample[] = [];

  /** Records an update at `now` (ms) and returns its line. */
  update(update: TransferUpdate, now: number): string {
    const last = this.samples[this.samples.length - 1];
    if (update.label !== this.label || (last && update.doneBytes < last.bytes)) {
      this.label = update.label;
      this.samples = [];
    }
    this.samples.push({ at: now, bytes: update.doneBytes });
    while (this.samples.length > 2 && now - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
    return formatTransfer(update, this.rate());
  }

  /** Bytes per second over the window, or undefined while there is too little history. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < MIN_SPAN_MS) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}

/** "label: 212 MB of 1.1 GB, 48 MB/s, 19 s left"; parts without data are left out. */
export function formatTransfer(update: TransferUpdate, bytesPerSecond?: number): string {
  const total = update.totalBytes;
  const parts = [total !== undefined ? `${formatBytes(update.doneBytes)} of ${formatBytes(total)}` : formatBytes(update.doneBytes)];
  if (bytesPerSecond !== undefined) {
    parts.push(`${formatBytes(bytesPerSecond)}/s`);
    if (total !== undefined && total > update.doneBytes && bytesPerSecond > 0) {
      parts.push(`${formatDuration((total - update.doneBytes) / bytesPerSecond)} left`);
    }
  }
  return `${update.label}: ${parts.join(', ')}`;
}
