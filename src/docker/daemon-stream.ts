/**
 * A lean HTTP/1.1 client to the Docker daemon for bulk transfers (`GET /images/get`, `POST /images/load`). Node's
 * http client allocates a fresh 64 KiB buffer for every socket read and pushes each through the
 * stream machinery; on a 2-core host that CPU is taken from the daemon, which is the
 * bottleneck of a save, and measured at less than half of `docker save -o`. This reads the
 * socket into one reusable 1 MiB buffer (net's `onread`) and hands each piece of the body to
 * a synchronous consumer, the way Go's io.Copy does. Everything else keeps using dockerode.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import type { DockerClient } from './client.js';
import { TarEndWatch } from './tar-end-watch.js';
import { parseDockerHost } from './client.js';

const READ_BUFFER = 1 << 20;
const MAX_HEAD = 64 << 10;
const MAX_ERROR_BODY = 1 << 20;

/**
 * Transfer buffers that a finished transfer handed back, for the next to take. Fresh ones for
 * each of a run's dozens of saves and loads (1 MiB per connection, two more per uploaded file)
 * piled up outside V8's heap: they are freed only when their small JS objects are collected,
 * and the transfers allocate too little on the heap to prompt a collection (36 MB of a run's
 * 106 MB peak). Enough are kept for two loads at once; more are left to the collector.
 */
const freeBuffers: Buffer[] = [];
const FREE_BUFFERS_KEPT = 6;

function takeBuffer(): Buffer {
  return freeBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER);
}

/** Only once nothing can read into or write from `buffer` any more (the socket closed, the writes finished). */
function handBack(buffer: Buffer): void {
  if (freeBuffers.length < FREE_BUFFERS_KEPT && !freeBuffers.includes(buffer)) freeBuffers.push(buffer);
}

/** How many transfer buffers wait to be reused (for tests). */
export function transferBuffersKept(): number {
  return freeBuffers.length;
}

export interface StreamGetOptions {
  /** Called with each piece of the body, in order; the buffer is reused after it returns, so copy what you keep. Throwing aborts the download. */
  onData(chunk: Buffer): void;
  signal?: AbortSignal;
}

/** An answer other than 200, shaped like dockerode's errors (statusCode, json.message) so callers treat both alike. */
export class DaemonHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { message?: string } | undefined,
    text: string,
  ) {
    super(`(HTTP code ${statusCode}) ${json?.message ?? text}`.trim());
    this.name = 'DaemonHttpError';
  }
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/**
 * GETs `path` from the daemon, under the client's API version (`/v1.26/images/get`), and feeds
 * its 200 body to `onData`; resolves with the body's size once it has all arrived.
 */
export function streamGet(client: Pick<DockerClient, 'address' | 'apiVersion'>, path: string, options: StreamGetOptions): Promise<number> {
  return exchange(client, `GET /v${client.apiVersion}${path} HTTP/1.1\r\n${COMMON_HEADERS}\r\n`, undefined, options);
}

export interface StreamPostFileOptions extends StreamGetOptions {
  /** Called with the file's bytes sent so far. */
  onProgress?(bytes: number): void;
  /**
   * The hex sha256 the file must have. The bytes are hashed as they are sent, and the file's
   * last piece and the tar's end marker are held back until the whole file is hashed: on a
   * mismatch the request is cut off before them, so the daemon never receives a complete tar
   * (see UploadDigestMismatch).
   */
  expectedSha256?: string;
}

/**
 * The file's bytes were not those expected; the upload was cut off before the tar's end (its
 * end marker, the file's last piece). With Content-Length framing the daemon's body reader then
 * ends in an unexpected EOF, never a clean end, and its tar reader has not reached an end
 * marker, so `POST /images/load` fails without loading anything: moby's tar exporter untars
 * the whole stream into a temporary directory before it reads manifest.json or registers a
 * layer or an image (daemon/internal/image/tarexport/load.go, `Load`: `untar(ctx, inTar,
 * tmpDir)` comes first; image/tarexport/load.go in older engines), and the containerd image
 * store's import creates images only after the archive's end (daemon/containerd/image_exporter.go).
 * Engines up to 23 untar in a child that drains the body to its end (pkg/chrootarchive's
 * `flush(os.Stdin)`), so a cut-off body fails there whatever it holds; from 24 on the unpack
 * runs in-process (go-archive's `Unpack`) and stops at the tar's end marker without reading
 * on, which is why the marker is held back too (TarEndWatch; test/integration/images.test.ts
 * shows Engine 26 loading an early-ended archive otherwise).
 */
export class UploadDigestMismatch extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}: its sha256 is ${found}, not ${expected}; the upload was cut off before its end.`);
    this.name = 'UploadDigestMismatch';
  }
}

/**
 * POSTs a file as the request body (`POST /images/load`), read through two reused 1 MiB buffers
 * (one being read while the other is written): dockerode's upload pipes a read stream, which
 * allocates a fresh buffer per read, and on a multi-gigabyte load those dead buffers were the
 * run's peak of memory. The 200 answer goes to `onData`, as with streamGet.
 */
export async function streamPostFile(
  client: Pick<DockerClient, 'address' | 'apiVersion'>,
  path: string,
  file: string,
  options: StreamPostFileOptions,
): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const head =
      `POST /v${client.apiVersion}${path} HTTP/1.1\r\n${COMMON_HEADERS}` +
      `Content-Type: application/x-tar\r\nContent-Length: ${size}\r\n\r\n`;
    return await exchange(client, head, (socket) => sendFile(handle, file, size, socket, options), options);
  } finally {
    await handle.close();
  }
}

const COMMON_HEADERS = 'Host: docker\r\nUser-Agent: devmapper-migrate\r\nConnection: close\r\n';

/**
 * Writes the file's bytes to the socket in order, each write finished before its buffer is read
 * into again. With an expected sha256 each piece is hashed as it is read (the bytes checked are
 * the bytes sent) and nothing from which the daemon could take the tar as complete goes out
 * before the digest matches: not the file's last piece, not the tar's end marker (TarEndWatch).
 */
async function sendFile(handle: FileHandle, file: string, size: number, socket: net.Socket, options: StreamPostFileOptions): Promise<void> {
  const buffers = [takeBuffer(), takeBuffer()];
  const check = options.expectedSha256 === undefined ? undefined : { hash: createHash('sha256'), watch: new TarEndWatch(), expected: options.expectedSha256 };
  let read = 0;
  let sent = 0;
  let writing: Promise<void> = Promise.resolve();
  const send = (piece: Buffer): void => {
    writing = new Promise<void>((resolve, reject) => socket.write(piece, (error) => (error ? reject(error) : resolve())));
    // Awaited on the next turn; until then a failure (the daemon closed early) must not count as unhandled.
    writing.catch(() => undefined);
    sent += piece.length;
    options.onProgress?.(sent);
  };
  if (size === 0 && check) requireDigest(check.hash, file, check.expected);
  for (let turn = 0; read < size && !socket.destroyed; turn++) {
    const buffer = buffers[turn % 2]!;
    const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BUFFER, size - read), read);
    if (bytesRead === 0) throw new Error(`${file}: the file ended before its size (${size} bytes) was sent; it changed while it was read.`);
    const piece = buffer.subarray(0, bytesRead);
    const offset = read;
    read += bytesRead;
    let sendable = bytesRead;
    if (check) {
      check.hash.update(piece);
      check.watch.feed(piece, offset);
      if (read === size) requireDigest(check.hash, file, check.expected);
      const holdFrom = read === size ? size : check.watch.holdFrom;
      // Once something is held back, nothing after it goes out before it (the order of the bytes).
      sendable = sent < offset ? 0 : Math.max(0, Math.min(bytesRead, holdFrom - offset));
    }
    await writing;
    if (sendable > 0) send(piece.subarray(0, sendable));
  }
  await writing;
  // The digest matched: what was held back before the last piece goes out now, read again: an
  // archive not shaped like `docker save`'s (an end marker before its last piece, headers not
  // followed), where a change in the instant since the hash is the one window left.
  for (let turn = 0; sent < size && !socket.destroyed; turn++) {
    const buffer = buffers[turn % 2]!;
    const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BUFFER, size - sent), sent);
    if (bytesRead === 0) throw new Error(`${file}: the file ended before its size (${size} bytes) was sent; it changed while it was read.`);
    await writing;
    send(buffer.subarray(0, bytesRead));
  }
  await writing;
  // Every write has finished. After a failure one may still be pending: those buffers are left to the collector.
  buffers.forEach(handBack);
}

function requireDigest(hash: Hash, file: string, expected: string): void {
  const found = hash.digest('hex');
  if (found !== expected) throw new UploadDigestMismatch(file, expected, found);
}

/**
 * One request on a fresh connection: writes `head`, then the body through `send` when there is
 * one, and parses the answer from one reusable buffer. Settles once the answer is complete, or
 * at the first error; an error answer wins over a failed write (the daemon may answer and close
 * before it has read the whole body).
 */
function exchange(
  client: Pick<DockerClient, 'address' | 'apiVersion'>,
  head: string,
  send: ((socket: net.Socket) => Promise<void>) | undefined,
  options: StreamGetOptions,
): Promise<number> {
  const { options: address } = parseDockerHost(client.address);
  return new Promise<number>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortError());
      return;
    }
    const parser = new ResponseParser(options.onData);
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (parser.status !== 0 && parser.status !== 200 && !(error && error.name === 'AbortError')) reject(parser.httpError());
      else if (error) reject(error);
      else resolve(parser.bodyBytes);
    };
    const onAbort = (): void => finish(abortError());
    const onread = {
      buffer: takeBuffer(),
      callback: (nread: number, buffer: Buffer): boolean => {
        if (settled) return false;
        try {
          parser.feed(buffer.subarray(0, nread));
        } catch (error) {
          finish(error as Error);
          return false;
        }
        if (parser.complete) finish();
        return true;
      },
    };
    const socket = address.socketPath
      ? net.connect({ path: address.socketPath as string, onread })
      : net.connect({ host: address.host as string, port: Number(address.port), onread });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    socket.on('end', () => {
      try {
        parser.end();
        finish();
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on('close', () => {
      finish(new Error('The connection to the Docker daemon closed before the answer was complete.'));
      handBack(onread.buffer); // closed: nothing reads into it any more
    });
    socket.write(head);
    // A failed write ends the exchange only when no answer explains it (finish prefers the answer);
    // a refused body ends it at once, the socket destroyed before its last piece.
    send?.(socket).catch((error: Error) => (error instanceof UploadDigestMismatch ? finish(error) : setTimeout(() => finish(error), 50)));
  });
}

type Framing = 'chunked' | 'length' | 'eof';
type BodyState = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/**
 * Status line, headers, then the body by Content-Length, chunked encoding, or up to EOF.
 * A non-200 body is kept (small) for the error message instead of being passed on.
 */
class ResponseParser {
  status = 0;
  bodyBytes = 0;
  complete = false;
  private head: Buffer[] = [];
  private headSize = 0;
  private inHead = true;
  private framing: Framing = 'eof';
  private remaining = 0;
  private state: BodyState = 'size';
  private line = '';
  private errorBody: Buffer[] = [];
  private errorBodySize = 0;

  constructor(private readonly onData: (chunk: Buffer) => void) {}

  feed(data: Buffer): void {
    let pos = 0;
    if (this.inHead) {
      pos = this.readHead(data);
      if (this.inHead) return;
    }
    while (pos < data.length && !this.complete) pos = this.readBody(data, pos);
  }

  /** The connection ended: fine for EOF-framed bodies, an error for the others. */
  end(): void {
    if (this.complete) return;
    if (!this.inHead && this.framing === 'eof') {
      this.complete = true;
      return;
    }
    throw new Error('The Docker daemon closed the connection in the middle of its answer.');
  }

  httpError(): DaemonHttpError {
    const text = Buffer.concat(this.errorBody).toString('utf8').trim();
    let json: { message?: string } | undefined;
    try {
      json = JSON.parse(text) as { message?: string };
    } catch {
      json = undefined;
    }
    return new DaemonHttpError(this.status, json, text);
  }

  private readHead(data: Buffer): number {
    this.head.push(data);
    this.headSize += data.length;
    const all = Buffer.concat(this.head);
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.headSize > MAX_HEAD) throw new Error('The Docker daemon sent an HTTP header larger than 64 KiB.');
      this.head = [all];
      return data.length;
    }
    const lines = all.subarray(0, end).toString('latin1').split('\r\n');
    const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!statusMatch) throw new Error(`The Docker daemon did not answer in HTTP: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    this.status = Number(statusMatch[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) this.framing = 'chunked';
    else if (headers.has('content-length')) {
      this.framing = 'length';
      this.remaining = Number(headers.get('content-length'));
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) throw new Error('The Docker daemon sent an invalid Content-Length.');
      if (this.remaining === 0) this.complete = true;
    }
    this.inHead = false;
    this.head = [];
    // Where the body starts within this last piece of data.
    return data.length - (all.length - (end + 4));
  }

  private emit(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.status === 200) {
      this.bodyBytes += piece.length;
      this.onData(piece);
    } else if (this.errorBodySize < MAX_ERROR_BODY) {
      this.errorBody.push(Buffer.from(piece));
      this.errorBodySize += piece.length;
    }
  }

  private readBody(data: Buffer, pos: number): number {
    if (this.framing === 'eof') {
      this.emit(data.subarray(pos));
      return data.length;
    }
    if (this.framing === 'length') {
      const n = Math.min(this.remaining, data.length - pos);
      this.emit(data.subarray(pos, pos + n));
      this.remaining -= n;
      if (this.remaining === 0) this.complete = true;
      return pos + n;
    }
    switch (this.state) {
      case 'data': {
        const n = Math.min(this.remaining, data.length - pos);
        this.emit(data.subarray(pos, pos + n));
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-crlf';
        return pos + n;
      }
      case 'size':
      case 'data-crlf':
      case 'trailer': {
        const newline = data.indexOf(0x0a, pos);
        const end = newline < 0 ? data.length : newline;
        this.line += data.toString('latin1', pos, end);
        if (this.line.length > 4096) throw new Error('The Docker daemon sent a malformed chunked answer.');
        if (newline < 0) return data.length;
        const line = this.line.replace(/\r$/, '');
        this.line = '';
        this.onLine(line);
        return newline + 1;
      }
      default:
        return data.length;
    }
  }

  private onLine(line: string): void {
    if (this.state === 'data-crlf') {
      if (line !== '') throw new Error('The Docker daemon sent a malformed chunked answer.');
      this.state = 'size';
    } else if (this.state === 'size') {
      const size = parseInt(line.split(';')[0] ?? '', 16);
      if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-f]+$/i.test((line.split(';')[0] ?? '').trim())) {
        throw new Error('The Docker daemon sent a malformed chunked answer.');
      }
      if (size === 0) this.state = 'trailer';
      else {
        this.remaining = size;
        this.state = 'data';
      }
    } else if (this.state === 'trailer' && line === '') {
      this.state = 'done';
      this.complete = true;
    }
  }
}
