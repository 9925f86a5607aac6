import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import DockerodeClass from 'dockerode';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  daemonErrorIn,
  ImageArchiveError,
  imageArchiveFileName,
  imageSaveNames,
  loadImageArchive,
  pushedDigest,
  registryTargetRef,
  removePartialArchives,
  saveImage,
  saveImages,
  untaggedTargetRef,
  UploadDigestMismatch,
} from '../../../src/docker/images.js';
import type { DockerClient } from '../../../src/docker/client.js';
import { OperatorError } from '../../../src/errors.js';
import { fakeImageArchive, sha256 } from './fake-image-archive.js';

const root = mkdtempSync(join(tmpdir(), 'dmm-images-'));
let dir: string;
let counter = 0;
beforeEach(() => {
  dir = join(root, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Answer = Readable | { status: number; body: string } | 'drop';
const servers: Server[] = [];
let sockets = 0;
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * A daemon stand-in on a real unix socket: GET /images/get answers with the stream the test
 * gives (chunked, as dockerd does), an error status, or a connection dropped halfway.
 */
async function fakeDocker(answer: (names: string[]) => Answer | Promise<Answer>, requests: string[][] = []): Promise<DockerClient> {
  const socket = join(root, `d${++sockets}.sock`);
  const server = createServer((req, res) => {
    const names = new URL(req.url ?? '/', 'http://docker').searchParams.getAll('names');
    requests.push(names);
    void Promise.resolve(answer(names)).then((result) => {
      if (result === 'drop') {
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        res.write(Buffer.alloc(2048, 1), () => res.socket?.destroy());
      } else if (result instanceof Readable) {
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        result.on('error', () => res.destroy());
        result.pipe(res);
      } else {
        res.writeHead(result.status, { 'Content-Type': 'application/json' });
        res.end(result.body);
      }
    });
  });
  server.on('clientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  servers.push(server);
  return { address: `unix://${socket}`, target: `the socket ${socket}`, api: {} as Docker, apiVersion: '1.41' };
}

function chunked(data: Buffer, size = 4096): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

function files(): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('saveImage', () => {
  it('streams every tag into a verified, private archive and reports its digest', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0', 'app/web:latest'] });
    const requests: string[][] = [];
    const progress: number[] = [];
    const dest = join(dir, imageArchiveFileName(image));
    const result = await saveImage(await fakeDocker(() => chunked(archive), requests), image, dest, { onProgress: (b) => progress.push(b) });
    expect(result).toEqual({ path: dest, sha256: sha256(archive), bytes: archive.length });
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    expect(requests).toEqual([['app/web:1.0', 'app/web:latest']]);
    expect(progress.at(-1)).toBe(archive.length);
    expect(files()).toEqual([imageArchiveFileName(image)]);
  });

  it('saves an untagged image by its full ID', async () => {
    const { archive, image } = await fakeImageArchive({ tags: [] });
    const requests: string[][] = [];
    await saveImages(await fakeDocker(() => chunked(archive), requests), [image], dir);
    expect(requests).toEqual([[image.id]]);
    expect(files()).toEqual([imageArchiveFileName(image)]);
  });

  it('replaces a stale .partial file and leaves none behind', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const dest = join(dir, 'image.tar');
    writeFileSync(`${dest}.partial`, 'left by a killed run');
    await saveImage(await fakeDocker(() => chunked(archive)), image, dest);
    expect(files()).toEqual(['image.tar']);
  });

  it('keeps nothing when the archive does not match the inventory', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'], otherImageTags: ['app/web:2.0'] });
    const dest = join(dir, 'image.tar');
    writeFileSync(`${dest}.partial`, 'stale');
    const error = await saveImage(await fakeDocker(() => chunked(archive)), { ...image, tags: ['app/web:1.0', 'app/web:2.0'] }, dest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageArchiveError);
    expect((error as ImageArchiveError).message).toMatch(/app\/web:2\.0 now point to image/);
    expect((error as OperatorError).remedy).toMatch(/inventory/);
    expect(files()).toEqual([]);
  });

  it('reports the daemon error appended to a save that broke off', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const broken = Buffer.concat([
      archive.subarray(0, 2560),
      Buffer.from('{"errorDetail":{"message":"open /var/lib/docker/overlay2/x/diff: no such file or directory"},"error":"open ..."}\n'),
    ]);
    const dest = join(dir, 'image.tar');
    await expect(saveImage(await fakeDocker(() => chunked(broken)), image, dest)).rejects.toThrow(
      /the daemon broke off: open \/var\/lib\/docker\/overlay2\/x\/diff: no such file or directory/,
    );
    expect(files()).toEqual([]);
  });

  it('leaves nothing when the stream ends early without a word', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    await expect(saveImage(await fakeDocker(() => chunked(archive.subarray(0, 3000))), image, join(dir, 'x.tar'))).rejects.toThrow(/cut short/);
    expect(files()).toEqual([]);
  });

  it('stops on abort and leaves nothing', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const controller = new AbortController();
    let sent = false;
    const slow = new Readable({
      read() {
        if (sent) return; // then hang, as a daemon busy on a big layer would
        sent = true;
        this.push(archive.subarray(0, 2048));
        setTimeout(() => controller.abort(), 20);
      },
    });
    const error = await saveImage(await fakeDocker(() => slow), image, join(dir, 'x.tar'), { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(files()).toEqual([]);
  });

  it('turns a 404 from the daemon into an operator error', async () => {
    const { image } = await fakeImageArchive({ tags: ['gone:1'] });
    const error = await saveImage(await fakeDocker(() => ({ status: 404, body: '{"message":"reference does not exist"}\n' })), image, join(dir, 'x.tar')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toBe('Saving image gone:1 failed: the daemon has no such image (reference does not exist).');
    expect(files()).toEqual([]);
  });
});

describe('saveImage when the connection breaks', () => {
  it('leaves nothing when the daemon drops the connection halfway', async () => {
    const { image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    await expect(saveImage(await fakeDocker(() => 'drop'), image, join(dir, 'x.tar'))).rejects.toThrow(/closed the connection/);
    expect(files()).toEqual([]);
  });

  it('says plainly when no daemon listens', async () => {
    const { image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const client: DockerClient = { address: `unix://${join(root, 'nobody.sock')}`, target: 'the socket', api: {} as Docker, apiVersion: '1.41' };
    await expect(saveImage(client, image, join(dir, 'x.tar'))).rejects.toThrow(/Cannot reach the Docker daemon .*there is no socket there/);
    expect(files()).toEqual([]);
  });
});

describe('saveImages', () => {
  it('runs at most `concurrency` saves at once, returns results in order, and one failure does not stop the rest', async () => {
    const fakes = await Promise.all(['a:1', 'b:1', 'c:1', 'd:1'].map((tag) => fakeImageArchive({ tags: [tag], layers: [Buffer.from(tag)] })));
    let active = 0;
    let peak = 0;
    const client = await fakeDocker((names) => {
      const fake = fakes.find((f) => f.image.tags[0] === names[0]);
      if (!fake) throw new Error('unknown');
      active += 1;
      peak = Math.max(peak, active);
      const body = names[0] === 'c:1' ? fake.archive.subarray(0, 1000) : fake.archive;
      const stream = chunked(body, 512);
      stream.on('end', () => (active -= 1));
      return new Promise((resolve) => setTimeout(() => resolve(stream), 10));
    });
    dir = join(dir, 'images');
    const results = await saveImages(
      client,
      fakes.map((f) => f.image),
      dir,
      { concurrency: 2 },
    );
    expect(peak).toBe(2);
    expect(results.map((r) => [r.image.tags[0], r.ok])).toEqual([
      ['a:1', true],
      ['b:1', true],
      ['c:1', false],
      ['d:1', true],
    ]);
    expect(files()).toEqual(fakes.filter((f) => f.image.tags[0] !== 'c:1').map((f) => imageArchiveFileName(f.image)).sort());
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe('removePartialArchives', () => {
  it('removes only .partial files', async () => {
    writeFileSync(join(dir, 'a.tar'), 'x');
    writeFileSync(join(dir, 'b.tar.partial'), 'x');
    expect(await removePartialArchives(dir)).toEqual(['b.tar.partial']);
    expect(files()).toEqual(['a.tar']);
    expect(await removePartialArchives(join(dir, 'missing'))).toEqual([]);
  });
});

describe('names and references', () => {
  const registry = { address: 'registry.example.com:5000', repositoryPrefix: 'migrated/' };

  it('builds push targets that stay valid references', () => {
    expect(registryTargetRef(registry, 'app/web:1.0')).toBe('registry.example.com:5000/migrated/app/web:1.0');
    expect(registryTargetRef(registry, 'busybox:latest')).toBe('registry.example.com:5000/migrated/busybox:latest');
    // One Docker Hub image, one target, however its tag is written (distribution/reference).
    expect(registryTargetRef(registry, 'docker.io/library/busybox:1')).toBe('registry.example.com:5000/migrated/busybox:1');
    expect(registryTargetRef(registry, 'index.docker.io/team/app:1')).toBe('registry.example.com:5000/migrated/team/app:1');
    // Not Docker Hub for the daemon: a tag of its own, so a target of its own.
    expect(registryTargetRef(registry, 'registry-1.docker.io/library/busybox:1')).toBe('registry.example.com:5000/migrated/registry-1.docker.io/library/busybox:1');
    expect(registryTargetRef(registry, 'reg.corp/library/app')).toBe('registry.example.com:5000/migrated/reg.corp/library/app:latest');
    expect(registryTargetRef(registry, 'old.corp:5000/team/app:2')).toBe('registry.example.com:5000/migrated/old.corp-5000/team/app:2');
    expect(registryTargetRef({ address: 'reg/', repositoryPrefix: '' }, 'localhost/x:y')).toBe('reg/localhost/x:y');
    expect(untaggedTargetRef(registry, `sha256:${'c'.repeat(64)}`)).toBe(`registry.example.com:5000/migrated/untagged:sha256-${'c'.repeat(64)}`);
  });


  it('asks for every tag of an image, or its ID when it has none', () => {
    expect(imageSaveNames({ id: 'sha256:1', tags: ['a:1', '<none>:<none>', 'b:2'] })).toEqual(['a:1', 'b:2']);
    expect(imageSaveNames({ id: 'sha256:1', tags: ['<none>:<none>'] })).toEqual(['sha256:1']);
  });

  it('reads the pushed digest from aux, else from the status line', () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    expect(pushedDigest([{ status: 'x' }, { aux: { Tag: '1.0', Digest: digest, Size: 1 } }], '1.0')).toBe(digest);
    expect(pushedDigest([{ aux: { Tag: 'other', Digest: digest } }], '1.0')).toBeUndefined();
    expect(pushedDigest([{ status: `1.0: digest: ${digest} size: 527` }], '1.0')).toBe(digest);
    expect(pushedDigest([{ status: 'Pushed' }], '1.0')).toBeUndefined();
  });

  it('finds the error record the daemon appended to a broken save', () => {
    expect(daemonErrorIn(Buffer.from('tar bytes...{"errorDetail":{"message":"boom"},"error":"boom"}\n'))).toBe('boom');
    expect(daemonErrorIn(Buffer.from('{"error":"only error"}'))).toBe('only error');
    expect(daemonErrorIn(Buffer.from('nothing here'))).toBeUndefined();
  });
});

describe('loadImageArchive', () => {
  /** A daemon stand-in for POST /images/load: reads the whole body, then answers 200 with these lines. */
  async function loadServer(lines: string[], received: { bytes: number }): Promise<DockerClient> {
    const socket = join(root, `d${++sockets}.sock`);
    const server = createServer((req, res) => {
      req.on('data', (chunk: Buffer) => (received.bytes += chunk.length));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(lines.map((l) => `${l}\r\n`).join(''));
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    servers.push(server);
    return { address: `unix://${socket}`, target: 'the socket', api: new DockerodeClass({ socketPath: socket }), apiVersion: '1.41' };
  }

  it('streams the whole file and reads the answer to its end', async () => {
    const file = join(dir, 'a.tar');
    writeFileSync(file, Buffer.alloc(3 << 20, 7));
    const received = { bytes: 0 };
    const progress: number[] = [];
    await loadImageArchive(await loadServer(['{"stream":"Loaded image: a:1\\n"}'], received), file, { onProgress: (b) => progress.push(b) });
    expect(received.bytes).toBe(3 << 20);
    expect(progress.at(-1)).toBe(3 << 20);
  });

  /** A daemon stand-in in a child process (its buffers are not ours): counts the body, then answers. */
  async function childLoadServer(status: number, answer: string, readBody: boolean): Promise<{ client: DockerClient; received: () => Promise<number> }> {
    const socket = join(root, `d${++sockets}.sock`);
    const script = `
      const http = require('node:http');
      let bytes = 0;
      const server = http.createServer((req, res) => {
        const reply = () => { res.writeHead(${status}, { 'Content-Type': 'application/json' }); res.end(${JSON.stringify(answer)}); };
        if (!${readBody}) { reply(); req.socket.destroySoon(); return; }
        req.on('data', (c) => (bytes += c.length));
        req.on('end', reply);
      });
      server.listen(${JSON.stringify(socket)}, () => process.stdout.write('ready\\n'));
      process.on('SIGTERM', () => { process.stdout.write(String(bytes) + '\\n'); process.exit(0); });
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise<void>((resolve) => child.stdout!.on('data', () => out.includes('ready') && resolve()));
    const client = { address: `unix://${socket}`, target: 'the socket', api: new DockerodeClass({ socketPath: socket }), apiVersion: '1.41' };
    const received = async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      return Number(out.split('\n').filter(Boolean).at(-1));
    };
    return { client, received };
  }

  it('sends a big archive through reused buffers: memory stays flat (fresh 1 MiB reads piled up as garbage: the run\'s peak RSS)', async () => {
    const file = join(dir, 'big.tar');
    writeFileSync(file, Buffer.alloc(96 << 20, 5));
    const server = await childLoadServer(200, '{"stream":"Loaded image: big:1\\n"}\r\n', true);
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    try {
      await loadImageArchive(server.client, file);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    expect(await server.received()).toBe(96 << 20);
    expect((peak - before) / 2 ** 20).toBeLessThan(8);
  }, 60_000);

  describe('with the sha256 the run recorded', () => {
    const hex = (data: Buffer) => sha256(data).replace(/^sha256:/, '');
    /** Loads `bytes` from a file against the sha256 of `recorded`; what the stand-in daemon received, what went out, and the error. */
    async function load(bytes: Buffer, recorded: Buffer): Promise<{ error: unknown; received: number; sent: number }> {
      const file = join(dir, `a${++counter}.tar`);
      writeFileSync(file, bytes);
      const server = await childLoadServer(200, '{"stream":"Loaded image: a:1\\n"}\r\n', true);
      let sent = 0;
      const error = await loadImageArchive(server.client, file, { sha256: sha256(recorded), onProgress: (b) => (sent = b) }).catch((e: unknown) => e);
      return { error, received: await server.received(), sent };
    }
    /** A docker-save-shaped archive with a 3 MiB layer: its tar end marker is its last 1024 bytes. */
    const saved = async () => (await fakeImageArchive({ tags: ['a:1'], layers: [Buffer.alloc(3 << 20, 1), Buffer.from('two')] })).archive;

    it('streams a changed archive but cuts it off before its end marker: the daemon never gets a complete tar', async () => {
      const written = await saved();
      const changed = Buffer.from(written);
      changed[written.length >> 1] = 0xaa ^ written[written.length >> 1]!;
      const { error, received, sent } = await load(changed, written);
      expect(error).toBeInstanceOf(UploadDigestMismatch);
      expect(error).toMatchObject({ expected: hex(written), found: hex(changed) });
      expect(received).toBeLessThanOrEqual(written.length - 1024);
      // Sent while it was hashed, not held back whole (the load is not slowed by the check).
      expect(sent).toBeGreaterThanOrEqual(2 << 20);
    }, 60_000);

    it('holds back from an end marker early in a changed archive (a tar reader stops there and would load what came before)', async () => {
      const written = await saved();
      const early = (await fakeImageArchive({ tags: ['evil:1'] })).archive;
      const changed = Buffer.concat([early, Buffer.alloc(3 << 20, 9)]);
      const { error, received, sent } = await load(changed, written);
      expect(error).toBeInstanceOf(UploadDigestMismatch);
      expect(sent).toBeLessThanOrEqual(early.length - 1024);
      expect(received).toBeLessThanOrEqual(early.length - 1024);
    }, 60_000);

    it('sends an archive as written whole, a tar and bytes that are no tar (held back until the hash, then sent)', async () => {
      const written = await saved();
      expect(await load(written, written)).toEqual({ error: undefined, received: written.length, sent: written.length });
      const other = Buffer.alloc((3 << 20) + 1000, 5);
      expect(await load(other, other)).toEqual({ error: undefined, received: other.length, sent: other.length });
    }, 60_000);
  });

  it('reports the daemon\'s answer when it refuses before reading the archive (not a broken pipe)', async () => {
    const file = join(dir, 'big.tar');
    writeFileSync(file, Buffer.alloc(32 << 20, 5));
    const server = await childLoadServer(500, '{"message":"write /var/lib/docker/tmp: no space left on device"}', false);
    const error = await loadImageArchive(server.client, file).catch((e: unknown) => e);
    await server.received();
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toContain('no space left on device');
  }, 60_000);

  it('throws for an error line in the 200 answer, and for a missing archive', async () => {
    const file = join(dir, 'a.tar');
    writeFileSync(file, 'x');
    const client = await loadServer(['{"status":"Loading layer"}', '{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}'], { bytes: 0 });
    const error = await loadImageArchive(client, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toBe(`Loading ${file} failed: no space left on device`);
    await expect(loadImageArchive(client, join(dir, 'missing.tar'))).rejects.toThrow(`The image archive ${join(dir, 'missing.tar')} does not exist.`);
  });
});
