// Volume trees recorded from real directories (JSON round trip, with and without content), the
// report files verify writes, and the verify command's refusal without a run.
import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectationFor } from '../../../src/cli/commands/verify.js';
import { compareHost } from '../../../src/verify/compare.js';
import { formatVerifyText, recordVolumeTrees, writeVerifyReport, type RecordedVolumeTrees } from '../../../src/verify/index.js';
import { runCli } from '../run-cli.js';
import { migrated, recorded } from './helpers.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmm-verify-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const B_TIME = new Date('2021-01-01T00:00:00Z');

async function makeVolume(root: string): Promise<void> {
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'sub', 'a.txt'), 'hello\n');
  await writeFile(join(root, 'b.bin'), Buffer.alloc(4096, 7));
  await chmod(join(root, 'b.bin'), 0o600);
  await utimes(join(root, 'b.bin'), B_TIME, B_TIME);
  await symlink('sub/a.txt', join(root, 'link'));
  await link(join(root, 'sub', 'a.txt'), join(root, 'hard'));
  await utimes(join(root, 'sub', 'a.txt'), new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
}

/** The round trip the run makes: record, write to JSON, read back. */
async function recordViaJson(path: string, content: boolean): Promise<RecordedVolumeTrees> {
  const trees = await recordVolumeTrees([{ name: 'data', path }], { content });
  return JSON.parse(JSON.stringify(trees)) as RecordedVolumeTrees;
}

async function currentTree(path: string, content: boolean) {
  const [now] = (await recordVolumeTrees([{ name: 'data', path }], { content })).volumes;
  return { data: { path, entries: now!.entries, error: now!.error } };
}

describe('recordVolumeTrees', () => {
  it('records every entry with checksum, mode, owner, link target, hard link and mtime as a string', async () => {
    const root = join(work, 'vol');
    await makeVolume(root);
    const trees = await recordViaJson(root, true);
    expect(trees).toMatchObject({ version: 1, content: true });
    const entries = trees.volumes[0]!.entries!;
    expect(entries.map((e) => e.path)).toEqual(['.', 'b.bin', 'hard', 'link', 'sub', 'sub/a.txt']);
    const a = entries.find((e) => e.path === 'sub/a.txt')!;
    expect(a).toMatchObject({ kind: 'file', size: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03', hardlinkOf: 'hard' });
    expect(a.mtimeNs).toBe('1577836800000000000');
    expect(entries.find((e) => e.path === 'b.bin')!.mode).toBe(0o600);
    expect(entries.find((e) => e.path === 'link')).toMatchObject({ kind: 'symlink', linkTarget: 'sub/a.txt' });
  });

  it('without content records sizes and no checksums', async () => {
    const root = join(work, 'vol');
    await makeVolume(root);
    const trees = await recordViaJson(root, false);
    const entries = trees.volumes[0]!.entries!;
    expect(entries.every((e) => e.sha256 === undefined)).toBe(true);
    expect(entries.find((e) => e.path === 'b.bin')!.size).toBe(4096);
    expect(entries.find((e) => e.path === 'sub/a.txt')!.hardlinkOf).toBe('hard');
  });

  it('records a directory that cannot be read as an error, not a throw', async () => {
    const trees = await recordVolumeTrees([{ name: 'gone', path: join(work, 'missing') }], { content: true });
    expect(trees.volumes[0]!.error).toMatch(/^ENOENT/);
    expect(trees.volumes[0]!.entries).toBeUndefined();
  });

  for (const content of [true, false]) {
    it(`finds exactly the changed file after a change (content: ${content})`, async () => {
      const root = join(work, 'vol');
      await makeVolume(root);
      const trees = await recordViaJson(root, content);
      const current = { ...migrated(), volumeTrees: await currentTree(root, content) };
      expect(compareHost({ recorded: recorded(), expect: { driver: 'overlay2', configMustBeClean: true }, current, volumeTrees: trees }).differences).toBe(0);

      // Same size, new content, mtime kept: only a checksum sees it; with sizes only, append a byte.
      await writeFile(join(root, 'b.bin'), Buffer.alloc(content ? 4096 : 4097, 8));
      await utimes(join(root, 'b.bin'), B_TIME, B_TIME);
      const changed = { ...migrated(), volumeTrees: await currentTree(root, content) };
      const result = compareHost({ recorded: recorded(), expect: { driver: 'overlay2', configMustBeClean: true }, current: changed, volumeTrees: trees });
      const found = result.entries.filter((e) => e.severity === 'blocker').map((e) => `${e.key} ${e.details?.item} ${e.details?.what}`);
      expect(found).toEqual([`verify-volume-file b.bin ${content ? 'content' : 'size'}`]);
    });
  }
});

describe('report', () => {
  it('writes report.json and report.txt, mode 0600, and the text names the differences', async () => {
    const result = compareHost({
      recorded: recorded(),
      expect: { driver: 'overlay2', configMustBeClean: true },
      current: migrated((i) => (i.Config.Labels!.tier = 'back')),
      checkedAt: '2024-01-02T00:00:00.000Z',
    });
    await writeVerifyReport(work, result);
    const json = JSON.parse(await readFile(join(work, 'report.json'), 'utf8'));
    expect(json).toMatchObject({ differences: 1, summary: { blockers: 1 }, expect: { driver: 'overlay2' } });
    expect(json.entries[0]).toMatchObject({ key: 'verify-container-label', severity: 'blocker' });
    const text = await readFile(join(work, 'report.txt'), 'utf8');
    expect(text).toBe(formatVerifyText(result));
    expect(text).toContain('1 difference between the host and the run\'s inventory.');
    expect(text).toContain('BLOCKER Container web: label tier differs [verify-container-label]');
    expect(text).toContain('Container "web", label "tier": "front" → "back".');
    for (const name of ['report.json', 'report.txt']) expect((await stat(join(work, name))).mode & 0o777).toBe(0o600);
  });

  it('says plainly when the host matches', () => {
    const result = compareHost({ recorded: recorded(), expect: { driver: 'overlay2', configMustBeClean: true }, current: migrated() });
    const text = formatVerifyText(result);
    expect(text).toMatch(/The host matches the run's inventory \(storage driver overlay2\)\./);
    expect(text).toContain('Checked 2 images (2 tags), 2 containers, 1 network, 1 volume, 3 configuration files.');
    expect(text.trimEnd().endsWith('No differences.')).toBe(true);
  });
});

describe('verify command', () => {
  it('expects the target driver after a run and the source driver after a rollback', () => {
    const rec = recorded();
    expect(expectationFor({ status: 'completed' }, rec, { target: 'overlay2' })).toEqual({ driver: 'overlay2', configMustBeClean: true });
    expect(expectationFor({ status: 'in-progress' }, rec, { target: 'direct-lvm' })).toEqual({ driver: 'devicemapper', configMustBeClean: true });
    expect(expectationFor({ status: 'rolled-back' }, rec, { target: 'overlay2' })).toEqual({ driver: 'devicemapper', configMustBeClean: false });
  });

  // Nothing to act on is exit 2 for every command (resume, rollback, finalize, verify).
  it('without a run says there is none and names `run` (exit 2)', async () => {
    const result = await runCli(['--state-dir', join(work, 'state'), '--docker-host', 'unix:///nonexistent.sock', 'verify']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('No run to verify');
    expect(result.err).toContain('devmapper-migrate run');
  });
});
