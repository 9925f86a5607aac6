/**
 * Where a packed archive's bytes go. Two kinds:
 * - an open file (`{ fd }`), written from the packing thread itself, one synchronous write per
 *   piece, as GNU tar writes: the archive step's way. The second core is then the hashing
 *   worker's alone. Measured (scripts/bench-archive.mjs, 1 GB, two cores, alternating): 0.85-0.98 s
 *   where the same archive through a file stream took 0.99-1.17 s (tar -c: 0.84-0.95 s), at
 *   less CPU; later, on a slower machine, medians of nine rounds 1.51 s against 1.73 s. Each
 *   stream write is a thread-pool round trip, and the writing thread took turns with the
 *   hashing worker for the same core;
 * - any Writable (a pipe, a test's stream), written through the stream with its backpressure.
 */
import { WriteStream, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** An open file to pack into: the caller opened it and closes (and syncs) it afterwards. */
export interface ArchiveFile {
  fd: number;
}

export type PackTarget = Writable | ArchiveFile;

/** The output failed (its error is the cause): said as such, never as a failure of the entry being read. */
export class OutputFailure extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

export interface PackSink {
  /** How many CHUNK buffers the packer may reuse: only those the sink is known to be done with. */
  readonly reusableBuffers: number;
  /** Writes `chunk`; `written` runs once the sink no longer holds it. Throws OutputFailure. */
  write(chunk: Buffer, written: () => void): Promise<void>;
  /** Every byte written (a stream is ended). Throws OutputFailure. */
  end(): Promise<void>;
  /** After a failure: a stream is destroyed; a file is left to its caller. */
  abandon(): void;
  /** Stops listening to the output. */
  detach(): void;
}

/** Bytes queued on a stream before waiting for it to drain. */
const STREAM_BUFFER = 2 * 1024 * 1024;

export function sinkFor(target: PackTarget, chunkBytes: number): PackSink {
  return isArchiveFile(target) ? new FileSink(target.fd) : new StreamSink(target, chunkBytes);
}

function isArchiveFile(target: PackTarget): target is ArchiveFile {
  return typeof (target as ArchiveFile).fd === 'number' && typeof (target as Writable).write !== 'function';
}

class FileSink implements PackSink {
  readonly reusableBuffers = 2;

  constructor(private readonly fd: number) {}

  async write(chunk: Buffer, written: () => void): Promise<void> {
    try {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset, chunk.length - offset);
    } catch (error) {
      throw new OutputFailure(error as Error);
    }
    written();
    // The event loop turns once per piece: the hashing worker's replies, the progress display
    // and an abort are heard from there.
    await new Promise((resolve) => setImmediate(resolve));
  }

  async end(): Promise<void> {}

  abandon(): void {}

  detach(): void {}
}

class StreamSink implements PackSink {
  readonly reusableBuffers: number;
  private failure: Error | undefined;
  private readonly onError = (error: Error) => (this.failure ??= error);

  constructor(
    private readonly output: Writable,
    chunkBytes: number,
  ) {
    // Only a file stream is known to be done with a chunk when its write callback runs (a
    // PassThrough, for one, still holds it): reuse buffers only then.
    this.reusableBuffers = output instanceof WriteStream ? STREAM_BUFFER / chunkBytes + 4 : 0;
    output.on('error', this.onError);
  }

  async write(chunk: Buffer, written: () => void): Promise<void> {
    if (this.failure) throw new OutputFailure(this.failure);
    this.output.write(chunk, () => written());
    if (this.output.writableLength > Math.max(STREAM_BUFFER, this.output.writableHighWaterMark)) {
      await drained(this.output).catch((error: Error) => {
        throw new OutputFailure(this.failure ?? error);
      });
    } else {
      // Let the event loop run: the output's finished write starts the next one only from
      // there, and the hashing worker's replies arrive there too. Without this the loop read
      // on until STREAM_BUFFER was queued while the output's thread sat idle, then waited
      // while it wrote: reading and writing took turns instead of overlapping.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async end(): Promise<void> {
    if (this.failure) throw new OutputFailure(this.failure);
    await new Promise<void>((resolve, reject) => {
      this.output.once('error', (error: Error) => reject(new OutputFailure(error)));
      this.output.end(() => resolve());
    });
  }

  abandon(): void {
    // The rejection carries the error: late errors of the destroyed output must not crash the process.
    this.output.on('error', () => {});
    this.output.destroy();
  }

  detach(): void {
    this.output.off('error', this.onError);
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('output closed before the archive was written'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}
