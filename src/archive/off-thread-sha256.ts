/**
 * A sha256 computed on a worker thread, so that hashing an archive (over a third of the CPU
 * time of packing one, measured) runs on the second core while the main thread reads, packs
 * and writes. Bytes are copied into BATCH-sized buffers that are handed to the worker
 * (transferred, not copied again) and handed back once hashed: at most IN_FLIGHT batches exist,
 * so memory stays flat whatever the archive's size.
 *
 * The worker's code is this module's string, run with `eval`: the shipped tool is one bundled
 * file, and a worker started from a path would need a file of its own (or the bundle's entry
 * point to know about it). It needs nothing but Node's own modules, on Node 16 as on 20.
 */
import { Worker } from 'node:worker_threads';
import { ArchiveError } from './errors.js';

/** Bytes per batch handed to the worker: big enough that a message costs nothing beside hashing it. */
const BATCH = 1024 * 1024;
/** Batches on their way to or from the worker; the producer waits beyond this. */
const IN_FLIGHT = 4;

const WORKER_SOURCE = `
const { parentPort } = require('worker_threads');
const { createHash } = require('crypto');
const hash = createHash('sha256');
parentPort.on('message', (message) => {
  if (message.digest) return parentPort.postMessage({ digest: hash.digest('hex') });
  if (message.fail) throw new Error(message.fail);
  hash.update(new Uint8Array(message.buffer, 0, message.length));
  parentPort.postMessage({ buffer: message.buffer }, [message.buffer]);
});
`;

/** The worker's heap holds a hash and a message at a time: a small isolate (about 10 MB of RSS). */
const LIMITS = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 };

type Reply = { buffer: ArrayBuffer } | { digest: string };

export class OffThreadSha256 {
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private batch: Buffer | undefined;
  private filled = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiting: { resolve(): void; reject(error: Error): void } | undefined;
  private digestWaiting: { resolve(hex: string): void; reject(error: Error): void } | undefined;
  private closed = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: LIMITS });
    this.worker.on('message', (reply: Reply) => this.receive(reply));
    this.worker.on('error', (error: Error) => this.fail(`the hashing thread failed: ${error.message}`));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(`the hashing thread stopped (exit code ${code}) before the hash was complete`);
    });
  }

  /** Adds bytes to the hash. Resolves at once unless IN_FLIGHT batches wait for the worker. */
  async update(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.failure) throw this.failure;
      if (this.batch === undefined) this.batch = await this.takeBatch();
      const length = Math.min(BATCH - this.filled, data.length - offset);
      this.batch.set(data.subarray(offset, offset + length), this.filled);
      this.filled += length;
      offset += length;
      if (this.filled === BATCH) this.send();
    }
  }

  /** The hex digest of every byte given; the worker is gone afterwards. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    if (this.filled > 0) this.send();
    const hex = await new Promise<string>((resolve, reject) => {
      this.digestWaiting = { resolve, reject };
      this.worker.postMessage({ digest: true });
    });
    await this.close();
    return hex;
  }

  /** Stops the worker (also after a failure: an archive given up must not leave a thread behind). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }

  /** Test seam: makes the worker throw, as a failing thread would. */
  failForTest(message: string): void {
    this.worker.postMessage({ fail: message });
  }

  private send(): void {
    const buffer = (this.batch as Buffer).buffer as ArrayBuffer;
    this.worker.postMessage({ buffer, length: this.filled }, [buffer]);
    this.batch = undefined;
    this.filled = 0;
  }

  private async takeBatch(): Promise<Buffer> {
    if (this.free.length === 0 && this.inFlight >= IN_FLIGHT) {
      await new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject }));
    }
    const buffer = this.free.pop();
    this.inFlight += 1;
    // Its own ArrayBuffer (never a slice of Node's pool): it is transferred whole.
    return buffer ? Buffer.from(buffer) : Buffer.allocUnsafeSlow(BATCH);
  }

  private receive(reply: Reply): void {
    if ('digest' in reply) return this.digestWaiting?.resolve(reply.digest);
    this.inFlight -= 1;
    this.free.push(reply.buffer);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  private fail(reason: string): void {
    this.failure ??= new ArchiveError('(archive checksum)', reason, 'Retry; if it fails again, the host is short of memory or threads (each archive and restore starts one).');
    this.waiting?.reject(this.failure);
    this.digestWaiting?.reject(this.failure);
    this.waiting = undefined;
    this.digestWaiting = undefined;
  }
}
