import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DaemonHttpError, streamGet, streamPostFile, transferBuffersKept } from '../../../src/docker/daemon-stream.js';

const root = mkdtempSync(join(tmpdir(), 'dmm-stream-'));
const servers: Server[] = [];
let count = 0;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A server on a unix socket that answers every request with these raw byte pieces, sent one by one. */
async function rawServer(pieces: (string | Buffer)[], then: 'end' | 'hang' = 'end', seen: string[] = []): Promise<string> {
  const path = join(root, `s${++count}.sock`);
  const server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    socket.once('data', async (request) => {
      seen.push(request.toString('latin1'));
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 2));
      }
      if (then === 'end') socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push(server);
  return `unix://${path}`;
}

async function body(address: string, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  const size = await streamGet({ address, apiVersion: '1.26' }, '/images/get?names=a%3A1', { onData: (c) => chunks.push(Buffer.from(c)), signal });
  const text = Buffer.concat(chunks).toString();
  expect(size).toBe(Buffer.byteLength(text));
  return text;
}

describe('streamGet', () => {
  it('sends a plain GET and decodes a chunked body split anywhere, with extensions and trailers', async () => {
    const seen: string[] = [];
    const raw = 'HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n';
    const pieces = raw.split('').reduce<string[]>((acc, ch, i) => (i % 3 === 0 ? [...acc, ch] : [...acc.slice(0, -1), `${acc.at(-1)}${ch}`]), []);
    expect(await body(await rawServer(pieces, 'hang', seen))).toBe('hello world');
    expect(seen[0]).toMatch(/^GET \/v1\.26\/images\/get\?names=a%3A1 HTTP\/1\.1\r\nHost: docker\r\n/);
  });

  it('reads a Content-Length body and a body that runs to the end of the connection', async () => {
    expect(await body(await rawServer(['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab', 'cd'], 'hang'))).toBe('abcd');
    expect(await body(await rawServer(['HTTP/1.0 200 OK\r\n\r\nuntil', ' eof']))).toBe('until eof');
  });

  it('gives an error with the daemon words for a non-200 answer, and passes none of its body on', async () => {
    const address = await rawServer(['HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{"message":"reference does not exist"}\n']);
    const chunks: Buffer[] = [];
    const error = await streamGet({ address, apiVersion: '1.26' }, '/x', { onData: (c) => chunks.push(c) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonHttpError);
    expect(error).toMatchObject({ statusCode: 404, json: { message: 'reference does not exist' } });
    expect(chunks).toEqual([]);
  });

  it('fails when the connection ends in the middle of a chunked or sized body', async () => {
    await expect(body(await rawServer(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly part']))).rejects.toThrow(/middle of its answer/);
    await expect(body(await rawServer(['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort']))).rejects.toThrow(/middle of its answer/);
  });

  it('refuses malformed chunking and answers that are not HTTP', async () => {
    await expect(body(await rawServer(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']))).rejects.toThrow(/malformed/);
    await expect(body(await rawServer(['SSH-2.0-OpenSSH\r\n\r\n']))).rejects.toThrow(/did not answer in HTTP/);
  });

  it('stops when aborted, and when the consumer throws', async () => {
    const address = await rawServer(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'], 'hang');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(body(address, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    const failing = streamGet({ address, apiVersion: '1.26' }, '/x', {
      onData: () => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    });
    await expect(failing).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});

/**
 * A daemon in a process of its own: reads each POST's Content-Length body whole and answers
 * with its sha256, and answers a GET with `downloadBytes` bytes of 7s.
 */
async function hashingDaemon(downloadBytes: number): Promise<{ address: string; stop(): void }> {
  const path = join(root, `s${++count}.sock`);
  const script = `
    const { createHash } = require('node:crypto');
    const download = Buffer.alloc(${downloadBytes}, 7);
    const server = require('node:net').createServer((socket) => {
      socket.on('error', () => undefined);
      let head = Buffer.alloc(0), hash, left = 0;
      const answer = (body) => socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n'), Buffer.from(body)]));
      socket.on('data', (data) => {
        if (!hash) {
          head = Buffer.concat([head, data]);
          const end = head.indexOf('\\r\\n\\r\\n');
          if (end < 0) return;
          if (head.toString('latin1', 0, 4) === 'GET ') return answer(download);
          left = Number(/Content-Length: (\\d+)/i.exec(head.toString('latin1', 0, end))[1]);
          hash = createHash('sha256');
          data = head.subarray(end + 4);
        }
        hash.update(data);
        left -= data.length;
        if (left === 0) answer(hash.digest('hex'));
      });
    });
    server.listen(${JSON.stringify(path)}, () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the test daemon exited ${code}`)));
  });
  return { address: `unix://${path}`, stop: () => child.kill('SIGKILL') };
}

describe('transfer buffers', () => {
  it('are reused: a dozen uploads and downloads in turn take back what the last handed back, and every byte arrives intact', async () => {
    const file = join(root, 'archive.tar');
    const content = randomBytes(3 << 20);
    writeFileSync(file, content);
    const daemon = await hashingDaemon(2 << 20);
    const client = { address: daemon.address, apiVersion: '1.26' };
    const download = Buffer.alloc(2 << 20, 7);
    const upload = async () => {
      const answer: Buffer[] = [];
      await streamPostFile(client, '/images/load', file, { onData: (c) => answer.push(Buffer.from(c)) });
      expect(Buffer.concat(answer).toString()).toBe(createHash('sha256').update(content).digest('hex'));
    };
    const get = async () => {
      const got = createHash('sha256');
      await streamGet(client, '/images/get', { onData: (c) => got.update(c) });
      expect(got.digest('hex')).toBe(createHash('sha256').update(download).digest('hex'));
    };
    // A closed connection hands its buffer back on its 'close' event: wait for it (at most a second).
    const settled = async (count: number) => {
      for (let i = 0; i < 200 && transferBuffersKept() < count; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      return transferBuffersKept();
    };
    try {
      await upload();
      await get();
      // An upload holds three (two for the file, one for the answer), a download one.
      expect(await settled(3)).toBe(3);
      for (let i = 0; i < 12; i++) {
        await upload();
        await get();
        // Taken from the pool and handed back: none made anew (fresh ones would fill it to six).
        expect(await settled(3)).toBe(3);
      }
      // Two loads at once, each with its own buffers, both intact; at most six wait afterwards.
      await Promise.all([upload(), upload()]);
      expect(await settled(6)).toBe(6);
      // A refused upload (its bytes not those expected) hands back only its closed socket's
      // buffer: the file's two may still be under a pending write, and are left to the collector.
      const refused = await streamPostFile(client, '/images/load', file, { onData: () => undefined, expectedSha256: '0'.repeat(64) }).catch((e: Error) => e);
      expect(refused).toMatchObject({ name: 'UploadDigestMismatch' });
      expect(await settled(4)).toBe(4);
    } finally {
      daemon.stop();
    }
  }, 30_000);
});
