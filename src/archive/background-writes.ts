/**
 * The files of an extraction, created and written on Node's thread pool while the main thread
 * goes on with the next entries (the kernel's work of creating and writing files is most of an
 * extraction's time: done on the main thread, beside parsing, it was the limit). Creations are
 * handed to the pool as the entries come; writes run on WRITE_LANES lanes, each lane one write
 * after the other, each write after its file's creation. At most LIMIT bytes wait to be
 * written and at most OPEN_FILES_LIMIT files are open, so memory stays flat; a failed
 * creation or write fails the extraction at its next step, and every file is finished (its
 * metadata set) and closed only once its own writes are done.
 */
import { close, open, writev } from 'node:fs';

/** Bytes held by writes handed to the thread pool and not yet written (see heldBytes). */
const LIMIT = 8 * 1024 * 1024;
/**
 * Writes that may run at once. Copying data into the page cache is most of the kernel's share
 * and runs in parallel on two cores, where creations in one directory do not (its lock).
 * Measured on 1 GB (1,024 files of 1 MB and 2,000 small ones, scripts/bench-archive.mjs, two
 * cores): two lanes took 2.9-3.4 s where one took 3.5-4.7 s in the same rounds, at no more CPU;
 * three or four were no faster than two.
 */
const WRITE_LANES = 2;
/**
 * Files created and not yet closed. Creations go to the pool at once, and an entry without
 * data waits for nothing else: without a bound, a run of empty files in one read of the
 * archive (up to 2,048 in 1 MiB) would hold as many descriptors.
 */
const OPEN_FILES_LIMIT = 64;

export class BackgroundWrites {
  /** `describe` turns a failed write or finish into the error the extraction throws, naming the entry. */
  constructor(private readonly describe: (entry: string, error: unknown) => unknown) {}

  private inFlight = 0;
  private failure: unknown;
  private readonly pending = new Set<Promise<void>>();
  private readonly opening = new Set<Promise<number>>();
  /** The last write queued on each lane: the lane's next one starts when it has ended (and its file is open). */
  private readonly lastWrites: Promise<void>[] = Array.from({ length: WRITE_LANES }, () => Promise.resolve());
  private nextLane = 0;
  private openFiles = 0;
  private roomWaiters: (() => void)[] = [];

  /** Waits until the queue has room; throws the first failure of any earlier write. */
  async room(): Promise<void> {
    while (this.inFlight >= LIMIT && this.failure === undefined) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits until fewer than OPEN_FILES_LIMIT files are open (call before create()); throws the first failure. */
  async fileRoom(): Promise<void> {
    while (this.openFiles >= OPEN_FILES_LIMIT && this.failure === undefined) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Opens (creates) a file on the thread pool; its failure is heard through finishLater().
   * Handed to the pool at once, not after the creation before it: a chain waited for the main
   * thread to hear of each creation before it started the next, and creating files was the
   * longest line of work (restores took a tenth longer so, measured with
   * scripts/bench-archive.mjs: 4.4 s against 3.95 s, median of six rounds).
   */
  create(absolutePath: string, flags: number, mode: number): Promise<number> {
    this.openFiles += 1;
    const opened = new Promise<number>((resolve, reject) => open(absolutePath, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd))));
    opened.catch(() => this.fileClosed());
    this.opening.add(opened);
    const forget = () => this.opening.delete(opened);
    opened.then(forget, forget);
    return opened;
  }

  /** Every file created so far exists (a hard link to one of them can be made). */
  async created(): Promise<void> {
    await Promise.allSettled([...this.opening]);
  }

  /**
   * Writes `buffers` at `position` of the file once open (all of them, short writes continued).
   * Writes of one file may run on different lanes at once: each has its own position.
   */
  write(file: Promise<number>, buffers: Buffer[], position: number): Promise<void> {
    const bytes = heldBytes(buffers);
    this.inFlight += bytes;
    const lane = this.nextLane;
    this.nextLane = (lane + 1) % WRITE_LANES;
    const written = (this.lastWrites[lane] as Promise<void>).then(() => file).then((fd) => writeAll(fd, buffers, position)).finally(() => {
      this.inFlight -= bytes;
      for (const wake of this.roomWaiters.splice(0)) wake();
    });
    // Heard through finishLater(), then room() and settled(): not as an unhandled rejection.
    written.catch(() => undefined);
    this.lastWrites[lane] = settledOf(written);
    return written;
  }

  /**
   * Once the file is open and every one of `writes` has ended: runs `finish` if they all
   * succeeded (and one is given), then closes the file, never while a write to it may still
   * run. The extraction goes on meanwhile; a failure is kept for room() and settled() to throw.
   */
  finishLater(entry: string, file: Promise<number>, writes: Promise<void>[], finish: ((fd: number) => void) | undefined): void {
    const done = file
      .then(async (fd) => {
        try {
          const outcomes = await Promise.allSettled(writes);
          const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
          if (failed) throw failed.reason;
          finish?.(fd);
        } finally {
          await new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve()))).finally(() => this.fileClosed());
        }
      })
      .catch((error: unknown) => {
        this.failure ??= this.describe(entry, error);
        for (const wake of this.roomWaiters.splice(0)) wake();
      });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  private fileClosed(): void {
    this.openFiles -= 1;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Every file finished; throws the first failure. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Every file finished or failed (after an extraction failed: no write may follow its cleanup). */
  async quiet(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/**
 * The memory a queued write keeps alive: its chunks are views into the input's reads (1 MiB
 * each), so a small file's few bytes hold a whole read until written. Counted by the reads
 * they hold, or 2,000 small files queued at once held 40 MB (measured).
 */
export function heldBytes(buffers: Buffer[]): number {
  const held = new Set<ArrayBufferLike>();
  let bytes = 0;
  for (const buffer of buffers) {
    if (held.has(buffer.buffer)) continue;
    held.add(buffer.buffer);
    bytes += Math.max(buffer.buffer.byteLength, buffer.length);
  }
  return bytes;
}

/** Resolves when `promise` has ended, either way. */
function settledOf(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}

function writevAsync(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => writev(fd, buffers, position, (error, written) => (error ? reject(error) : resolve(written))));
}

async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const written = await writevAsync(fd, pending, at);
    at += written;
    pending = skipBytes(pending, written);
  }
}

export function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    rest.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return rest;
}
