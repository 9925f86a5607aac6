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
/**
 * At most one sample is kept per this much time. Updates come with every chunk a stream reads
 * (thousands a second on a fast save), and a sample kept for the whole window outlives the
 * young generation: one per update was the run's largest source of promoted garbage.
 */
const SAMPLE_EVERY_MS = 250;

interface Sample {
  at: number;
  bytes: number;
}

interface History {
  /** One sample per SAMPLE_EVERY_MS at most, the oldest first, spanning about the window. */
  samples: Sample[];
  /** The latest update, whether or not it was kept as a sample: the rate runs up to it. */
  latest: Sample;
}

/**
 * Tracks one step's transfers, each label (an image, a volume) on its own: two saves at once
 * each keep their rate. Bytes going backwards (a unit redone) start that label's measurement again.
 */
export class TransferMeter {
  private readonly historyByLabel = new Map<string, History>();

  /** Records an update at `now` (ms) and returns its line. */
  update(update: TransferUpdate, now: number): string {
    const history = this.historyFor(update);
    history.latest.at = now;
    history.latest.bytes = update.doneBytes;
    const { samples } = history;
    const last = samples[samples.length - 1];
    if (!last || now - last.at >= SAMPLE_EVERY_MS) samples.push({ at: now, bytes: update.doneBytes });
    while (samples.length > 2 && now - samples[1]!.at >= WINDOW_MS) samples.shift();
    return formatTransfer(update, rateOf(history));
  }

  /** Bytes per second of `label` over the window, or undefined while there is too little history. */
  rate(label: string): number | undefined {
    const history = this.historyByLabel.get(label);
    return history && rateOf(history);
  }

  /** How many samples `label` holds (bounded by the window, however often updates come). */
  samplesHeld(label: string): number {
    return this.historyByLabel.get(label)?.samples.length ?? 0;
  }

  private historyFor(update: TransferUpdate): History {
    const known = this.historyByLabel.get(update.label);
    if (known && update.doneBytes >= known.latest.bytes) return known;
    const fresh: History = { samples: [], latest: { at: 0, bytes: 0 } };
    this.historyByLabel.set(update.label, fresh);
    return fresh;
  }
}

function rateOf({ samples, latest }: History): number | undefined {
  const first = samples[0];
  if (!first || latest.at - first.at < MIN_SPAN_MS) return undefined;
  return ((latest.bytes - first.bytes) * 1000) / (latest.at - first.at);
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
