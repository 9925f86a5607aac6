/**
 * Docker's JSON progress streams (push, pull, load, build): newline-delimited JSON messages in
 * a 200 response. The daemon reports most failures *inside* that 200 stream as an
 * `{"error": ..., "errorDetail": {...}}` line, so a stream is only a success once it has been
 * read to its end without one.
 */
import type { Readable } from 'node:stream';

/** One message of a progress stream, as moby's jsonmessage.JSONMessage encodes it. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: Record<string, unknown>;
}

/** An `{"error": ...}` line in a progress stream: the operation failed although the HTTP status was 200. */
export class DockerStreamError extends Error {
  constructor(
    message: string,
    /** The messages read before the error, for context. */
    readonly messages: readonly ProgressMessage[],
    readonly code?: number,
  ) {
    super(message);
    this.name = 'DockerStreamError';
  }
}

export interface DrainOptions {
  /** Called for each message as it arrives (progress display). */
  onMessage?(message: ProgressMessage): void;
  /** Keep at most this many messages for the result (the newest); default 1000. */
  keep?: number;
}

/** Longest line accepted: a progress line is small; anything longer is not a progress stream. */
const MAX_LINE = 1 << 20;

/**
 * Reads a progress stream piece by piece, synchronously: `push` each piece of the body, then
 * `end`. Throws DockerStreamError at the first error line and keeps the newest messages.
 */
export class ProgressReader {
  readonly messages: ProgressMessage[] = [];
  private readonly splitter = new LineSplitter();
  private readonly keep: number;

  constructor(private readonly options: DrainOptions = {}) {
    this.keep = options.keep ?? 1000;
  }

  push(chunk: Buffer | string): void {
    for (const line of this.splitter.push(chunk)) this.handle(line);
  }

  end(): ProgressMessage[] {
    for (const line of this.splitter.end()) this.handle(line);
    return this.messages;
  }

  private handle(line: string): void {
    const message = parseProgressLine(line);
    if (!message) return;
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      const text = message.errorDetail?.message ?? message.error ?? 'unknown error';
      throw new DockerStreamError(text, this.messages.slice(), message.errorDetail?.code);
    }
    this.messages.push(message);
    if (this.messages.length > this.keep) this.messages.shift();
    this.options.onMessage?.(message);
  }
}

/**
 * Reads a progress stream to its end and returns its messages; throws DockerStreamError at the
 * first error line (after reading no further) and a plain Error when the stream breaks.
 */
export async function drainProgress(stream: Readable, options: DrainOptions = {}): Promise<ProgressMessage[]> {
  const reader = new ProgressReader(options);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) reader.push(chunk);
    return reader.end();
  } catch (error) {
    if (error instanceof DockerStreamError) stream.destroy();
    throw error;
  }
}

/**
 * One message of a line; undefined for a blank line. A line that is not JSON becomes a
 * `status` message: old daemons and proxies sometimes write plain text, and dropping it would
 * hide what they said.
 */
export function parseProgressLine(line: string): ProgressMessage | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as ProgressMessage;
  } catch {
    // Not JSON: kept as text below.
  }
  return { status: text };
}

/** Splits a byte stream into lines without losing a multi-byte character cut between chunks. */
class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  push(chunk: Buffer | string): string[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_LINE) throw new Error('Docker sent a progress line longer than 1 MiB; is this a progress stream?');
    return lines;
  }

  end(): string[] {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return rest.trim() === '' ? [] : [rest];
  }
}
