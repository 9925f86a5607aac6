// The archive's use of a second core: the sha256 computed on a worker thread, archives packed
// side by side, and an extraction whose files are created and written on the thread pool.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readdirSync } from 'node:fs';
import { link, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OffThreadSha256, UnsafeArchiveError } from '../../../src/archive/index.js';
import { BackgroundWrites, heldBytes } from '../../../src/archive/background-writes.js';
import { writeFileDurably } from '../../../src/fs/atomic-file.js';
import { extractFile, packToFile, removeDir, sha256File, snapshot, tempDir } from './helpers.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('OffThreadSha256', () => {
  it('gives the sha256 of the bytes fed in pieces of any size, across its 1 MiB batches', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const sizes = [1, 4095, 1024 * 1024 + 3, 0, 7, 2 * 1024 * 1024, 333_333];
    const hash = new OffThreadSha256();
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const size = sizes[i % sizes.length]!;
      await hash.update(data.subarray(at, at + size));
      at += size;
    }
    expect(await hash.digest()).toBe(sha256(data));
  });

  it('gives the sha256 of nothing, and two hashes fed in turns stay apart', async () => {
    expect(await new OffThreadSha256().digest()).toBe(sha256(Buffer.alloc(0)));
    const [a, b] = [randomBytes(3 * 1024 * 1024), randomBytes(3 * 1024 * 1024 + 1)];
    const [ha, hb] = [new OffThreadSha256(), new OffThreadSha256()];
    for (let at = 0; at < b.length; at += 256 * 1024) {
      await ha.update(a.subarray(at, at + 256 * 1024));
      await hb.update(b.subarray(at, at + 256 * 1024));
    }
    expect(await Promise.all([ha.digest(), hb.digest()])).toEqual([sha256(a), sha256(b)]);
  });

  it('a failing thread fails the hash, never a digest of part of the bytes', async () => {
    const hash = new OffThreadSha256();
    await hash.update(randomBytes(2 * 1024 * 1024));
    hash.failForTest('simulated crash');
    await expect(hash.digest()).rejects.toThrow(/the hashing thread failed: simulated crash/);
    await hash.close();
  });
});

describe('packing side by side', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('second-core');
  });
  afterEach(() => removeDir(work));

  async function volume(name: string, seed: number): Promise<string> {
    const dir = path.join(work, name);
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `big-${i}.bin`), randomBytes(700 * 1024 + seed * 1000 + i));
    for (let i = 0; i < 40; i++) await writeFile(path.join(dir, 'sub', `small-${i}`), `${name} ${i}\n`.repeat(i + seed));
    await link(path.join(dir, 'big-0.bin'), path.join(dir, 'sub', 'hard'));
    return dir;
  }

  it('two volumes archived at once give the same archives and hashes as one after the other, each the sha256 of its file', async () => {
    const [a, b] = [await volume('a', 1), await volume('b', 2)];
    const alone = [await packToFile(a, path.join(work, 'a1.tar')), await packToFile(b, path.join(work, 'b1.tar'))];
    const together = await Promise.all([packToFile(a, path.join(work, 'a2.tar')), packToFile(b, path.join(work, 'b2.tar'))]);
    expect(together.map((r) => r.sha256)).toEqual(alone.map((r) => r.sha256));
    expect(readFileSync(path.join(work, 'a2.tar')).equals(readFileSync(path.join(work, 'a1.tar')))).toBe(true);
    expect(readFileSync(path.join(work, 'b2.tar')).equals(readFileSync(path.join(work, 'b1.tar')))).toBe(true);
    expect(alone.map((r) => r.sha256)).toEqual([sha256File(path.join(work, 'a1.tar')), sha256File(path.join(work, 'b1.tar'))]);
    expect(alone[0]!.sha256).not.toBe(alone[1]!.sha256);

    // And both restore at once to their trees, each hash checked.
    await Promise.all(['a', 'b'].map((name) => mkdir(path.join(work, `${name}-out`))));
    const restored = await Promise.all(
      ['a', 'b'].map((name, i) => extractFile(path.join(work, `${name}1.tar`), path.join(work, `${name}-out`), { expectedSha256: alone[i]!.sha256 })),
    );
    expect(restored.map((r) => r.sha256)).toEqual(alone.map((r) => r.sha256));
    expect(snapshot(path.join(work, 'a-out'), '')).toEqual(snapshot(a, ''));
    expect(snapshot(path.join(work, 'b-out'), '')).toEqual(snapshot(b, ''));
  });

  it('a hashing thread that fails fails its archive: the error says so and no archive is left that looks complete', async () => {
    const [a, b] = [await volume('a', 1), await volume('b', 2)];
    const failing = new OffThreadSha256();
    const archives = path.join(work, 'archives');
    await mkdir(archives);
    const pack = (dir: string, file: string, hash?: OffThreadSha256) =>
      writeFileDurably(path.join(archives, file), (partial) =>
        packToFile(dir, partial, {
          hash,
          onProgress: (bytes) => {
            if (hash && bytes > 1024 * 1024) hash.failForTest('simulated crash');
          },
        }),
      );
    const [good, bad] = await Promise.allSettled([pack(a, 'a.tar'), pack(b, 'b.tar', failing)]);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/hashing thread/);
    expect(good.status).toBe('fulfilled');
    expect(readdirSync(archives)).toEqual(['a.tar']);
    expect((good as PromiseFulfilledResult<{ sha256: string }>).value.sha256).toBe(sha256File(path.join(archives, 'a.tar')));
  });
});

describe('extraction with the creations and writes on the thread pool', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('second-core-x');
  });
  afterEach(() => removeDir(work));

  it('a file that already exists in the target is refused by its own name, and the rest is not left half-written', async () => {
    const source = path.join(work, 'source');
    await mkdir(source);
    for (const name of ['a', 'b', 'c']) await writeFile(path.join(source, name), randomBytes(3 * 1024 * 1024));
    await packToFile(source, path.join(work, 'x.tar'));
    const target = path.join(work, 'target');
    await mkdir(target);
    await writeFile(path.join(target, 'b'), 'was here');
    const failure = await extractFile(path.join(work, 'x.tar'), target).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnsafeArchiveError);
    expect((failure as Error).message).toContain('"./b"');
    expect(readFileSync(path.join(target, 'b'), 'utf8')).toBe('was here');
    // What was restored before the failure is whole (its writes ended before the error was heard).
    expect(readFileSync(path.join(target, 'a')).equals(readFileSync(path.join(source, 'a')))).toBe(true);
  });

  it('a write does not wait for one on the other lane: its file is written while the other file is still being created', async () => {
    const writes = new BackgroundWrites((_entry, error) => error);
    let createFirst: (fd: number) => void = () => undefined;
    const first = new Promise<number>((resolve) => (createFirst = resolve));
    const secondFd = openSync(path.join(work, 'second'), 'w');
    const firstFd = openSync(path.join(work, 'first'), 'w');
    try {
      const firstWrite = writes.write(first, [Buffer.from('first')], 0);
      // With one lane this write would wait behind the first, whose file is not open yet.
      await writes.write(Promise.resolve(secondFd), [Buffer.from('second')], 0);
      expect(readFileSync(path.join(work, 'second'), 'utf8')).toBe('second');
      expect(readFileSync(path.join(work, 'first'), 'utf8')).toBe('');
      createFirst(firstFd);
      await firstWrite;
      expect(readFileSync(path.join(work, 'first'), 'utf8')).toBe('first');
    } finally {
      closeSync(firstFd);
      closeSync(secondFd);
    }
  });

  it('a creation does not wait for the one before it', async () => {
    const writes = new BackgroundWrites((_entry, error) => error);
    const fifo = path.join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO to write, without O_NONBLOCK, blocks until a reader comes: a creation that never ends by itself.
    const blocked = writes.create(fifo, constants.O_WRONLY, 0o600);
    const next = await writes.create(path.join(work, 'next'), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    closeSync(next);
    // The reader releases the first creation (and the thread it holds).
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    closeSync(await blocked);
    closeSync(reader);
  });

  it('at most 64 files are open at once: the next creation waits until one is closed', async () => {
    const writes = new BackgroundWrites((_entry, error) => error);
    const files: Promise<number>[] = [];
    for (let i = 0; i < 64; i++) {
      await writes.fileRoom();
      files.push(writes.create(path.join(work, `empty-${i}`), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    }
    let roomFor65th = false;
    const waiting = writes.fileRoom().then(() => (roomFor65th = true));
    await Promise.all(files);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(roomFor65th).toBe(false);
    writes.finishLater('empty-0', files[0] as Promise<number>, [], undefined);
    await waiting;
    expect(roomFor65th).toBe(true);
    files.slice(1).forEach((file, i) => writes.finishLater(`empty-${i + 1}`, file, [], undefined));
    await writes.settled();
  });

  it('an archive of 3,000 empty files (no data to wait for) is restored whole', async () => {
    const source = path.join(work, 'source');
    await mkdir(source);
    for (let i = 0; i < 3000; i++) await writeFile(path.join(source, `e${i}`), '');
    await packToFile(source, path.join(work, 'x.tar'));
    const target = path.join(work, 'target');
    await mkdir(target);
    const result = await extractFile(path.join(work, 'x.tar'), target);
    expect(result.entries.files).toBe(3000);
    expect(readdirSync(target)).toHaveLength(3000);
  });

  it('files written in many pieces across both lanes, between small ones, come back byte for byte', async () => {
    const source = path.join(work, 'source');
    await mkdir(source);
    for (let i = 0; i < 6; i++) {
      // Sizes off the 1 MiB batch, so that pieces of one file land on both lanes at odd positions.
      await writeFile(path.join(source, `big-${i}`), randomBytes(3 * 1024 * 1024 + 4099 * i + 1));
      await writeFile(path.join(source, `small-${i}`), randomBytes(100 + i));
    }
    await packToFile(source, path.join(work, 'x.tar'));
    const target = path.join(work, 'target');
    await mkdir(target);
    await extractFile(path.join(work, 'x.tar'), target);
    for (const name of readdirSync(source)) expect(sha256(readFileSync(path.join(target, name))), name).toBe(sha256(readFileSync(path.join(source, name))));
  });
});

describe('a pack that fails on its tree', () => {
  it('says the tree failed, not the output (the output is fine)', async () => {
    const work = await tempDir('second-core-gone');
    try {
      const failure = await packToFile(path.join(work, 'gone'), path.join(work, 'out.tar'), { readXattrs: undefined }).catch((error: unknown) => error);
      expect((failure as Error).message).toMatch(/ENOENT.*gone/);
      expect((failure as Error).message).not.toMatch(/archive output|could not be written/);
    } finally {
      await removeDir(work);
    }
  });
});

describe('the limit on queued writes', () => {
  it('counts what a write keeps alive: the whole 1 MiB read a small file’s bytes are a view of, once per read', () => {
    const read = Buffer.alloc(1024 * 1024);
    const other = Buffer.alloc(1024 * 1024);
    expect(heldBytes([read.subarray(0, 10)])).toBe(1024 * 1024);
    expect(heldBytes([read.subarray(0, 10), read.subarray(512, 1024), other.subarray(5, 6)])).toBe(2 * 1024 * 1024);
  });
});
