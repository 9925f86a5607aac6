import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARTIAL_SUFFIX, writeFileAtomic, writeFileDurably } from '../../../src/fs/atomic-file.js';

const base = mkdtempSync(join(tmpdir(), 'dmm-durable-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('writeFileDurably', () => {
  // A process killed while it writes leaves the disk as it is at that moment: the write below
  // stops there (it never finishes), which is what the disk looks like after a kill -9.
  it('leaves the old file whole and the half-written content only under the partial name when the writer dies mid-write', async () => {
    const file = join(base, 'archive.tar');
    writeFileSync(file, 'old, complete');
    const halfWritten = gate();
    void writeFileDurably(file, async (partial) => {
      await writeFile(partial, 'new, first half');
      halfWritten.open();
      await new Promise(() => undefined); // killed here
    });
    await halfWritten.opened;

    expect(readFileSync(file, 'utf8')).toBe('old, complete');
    expect(readFileSync(`${file}${PARTIAL_SUFFIX}`, 'utf8')).toBe('new, first half');

    // The next run (resume) writes it again: the leftover is replaced, never completed or kept.
    await writeFileDurably(file, async (partial) => {
      await appendFile(partial, 'new, ');
      await appendFile(partial, 'whole');
    });
    expect(readFileSync(file, 'utf8')).toBe('new, whole');
    expect(readdirSync(base).filter((name) => name.startsWith('archive.tar'))).toEqual(['archive.tar']);
  });

  it('creates nothing under the name when there was no file before and the writer dies', async () => {
    const file = join(base, 'layer.tar');
    const halfWritten = gate();
    void writeFileDurably(file, async (partial) => {
      await writeFile(partial, 'half');
      halfWritten.open();
      await new Promise(() => undefined);
    });
    await halfWritten.opened;
    expect(existsSync(file)).toBe(false);
  });

  it('removes the partial file and keeps the old one when the writer fails', async () => {
    const file = join(base, 'volume.tar');
    writeFileSync(file, 'old');
    const failure = new Error('the daemon broke off');
    await expect(
      writeFileDurably(file, async (partial) => {
        await writeFile(partial, 'half');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(existsSync(`${file}${PARTIAL_SUFFIX}`)).toBe(false);
  });

  it('fails when the writer wrote nothing, rather than renaming a file that is not there', async () => {
    const file = join(base, 'never.tar');
    await expect(writeFileDurably(file, async () => undefined)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(file)).toBe(false);
  });

  it("returns the writer's result", async () => {
    const file = join(base, 'result.tar');
    await expect(writeFileDurably(file, async (partial) => (await writeFile(partial, 'x'), 42))).resolves.toBe(42);
  });
});

describe('writeFileAtomic', () => {
  it('writes the content with the exact mode, whatever the umask, and leaves no temporary file', async () => {
    const file = join(base, 'state.json');
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(file, '{"phase":"export"}\n', 0o640);
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(file, 'utf8')).toBe('{"phase":"export"}\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(base).filter((name) => name.includes('state.json'))).toEqual(['state.json']);
  });

  it('leaves no temporary file behind when the rename fails (a directory in the way)', async () => {
    const dir = mkdtempSync(join(base, 'blocked-'));
    mkdirSync(join(dir, 'daemon.json'));
    writeFileSync(join(dir, 'daemon.json', 'inside'), '');
    await expect(writeFileAtomic(join(dir, 'daemon.json'), '{}\n')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(readdirSync(dir)).toEqual(['daemon.json']);
  });
});
