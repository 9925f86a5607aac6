// NodeHost against real temp trees and real commands: the root mapping, symlinks that must
// stay under the root, statfs, and commands that fail or are missing.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHost, parseStatfs } from '../../../src/host/node-host.js';
import { FS_MAGIC } from '../../../src/host/fs-magic.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'dmm-nodehost-'));
  await mkdir(path.join(root, 'etc/docker'), { recursive: true });
  await mkdir(path.join(root, 'data/docker/volumes'), { recursive: true });
  await mkdir(path.join(root, 'var/lib'), { recursive: true });
  await writeFile(path.join(root, 'etc/docker/daemon.json'), '{"debug": true}\n');
  // An absolute link, as on a real host: it must resolve inside the root, not on this machine.
  await symlink('/data/docker', path.join(root, 'var/lib/docker'));
  await symlink('../../etc', path.join(root, 'var/lib/etc-link'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('NodeHost files under a root', () => {
  it('reads, lists and stats host paths under the root', async () => {
    const host = new NodeHost(root);
    expect(host.root).toBe(root);
    expect(await host.readFile('/etc/docker/daemon.json')).toBe('{"debug": true}\n');
    expect(await host.readFile('/etc/docker/missing.json')).toBeUndefined();
    expect(await host.readFile('/etc/docker/daemon.json/x')).toBeUndefined();
    expect(await host.listDir('/etc/docker')).toEqual(['daemon.json']);
    expect(await host.listDir('/nope')).toBeUndefined();
    expect((await host.stat('/var/lib/docker'))?.kind).toBe('symlink');
    expect((await host.stat('/etc/docker'))?.kind).toBe('directory');
    expect(await host.stat('/nope')).toBeUndefined();
  });

  it('resolves absolute and relative symlinks inside the root', async () => {
    const host = new NodeHost(root);
    expect(await host.realpath('/var/lib/docker/volumes')).toBe('/data/docker/volumes');
    expect(await host.realpath('/var/lib/etc-link/docker/daemon.json')).toBe('/etc/docker/daemon.json');
    // ".." after a link applies to the link's target, as the kernel does it.
    expect(await host.realpath('/var/lib/docker/../docker/volumes')).toBe('/data/docker/volumes');
    expect(await host.realpath('/var/lib/docker/../lib')).toBeUndefined();
    expect(await host.realpath('/var/lib/nope')).toBeUndefined();
  });

  it('rejects relative host paths (a bug, not an operator error)', async () => {
    await expect(new NodeHost(root).readFile('etc/docker/daemon.json')).rejects.toThrow(/absolute/);
  });

  it('measures the filesystem holding a path', async () => {
    const space = await new NodeHost(root).statfs('/etc/docker');
    expect(space).toBeDefined();
    expect(space!.totalBytes).toBeGreaterThan(0);
    expect(space!.availableBytes).toBeLessThanOrEqual(space!.totalBytes);
    expect(await new NodeHost(root).statfs('/nope')).toBeUndefined();
  });

  it('reads the real /proc with root "/"', async () => {
    const host = new NodeHost('/');
    expect((await host.readFile(`/proc/${process.pid}/cmdline`))?.split('\0')[0]).toContain('node');
    expect(await host.realpath(path.join(root, 'var/lib/etc-link'))).toBe(path.join(root, 'etc'));
  });
});

describe('NodeHost commands', () => {
  const host = new NodeHost(root);

  it('runs a command and returns its output and exit code, never throwing', async () => {
    const ok = await host.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(ok).toMatchObject({ command: 'sh', exitCode: 3, stdout: 'out', stderr: 'err' });
    const input = await host.run('cat', [], { input: 'hello' });
    expect(input.stdout).toBe('hello');
    const env = await host.run('sh', ['-c', 'echo $LC_ALL'], { env: { LC_ALL: 'C' } });
    expect(env.stdout).toBe('C');
  });

  it('gives 127 for a missing command and 124 after a timeout', async () => {
    expect(await host.run('no-such-command-dmm', [])).toMatchObject({ exitCode: 127, stderr: expect.stringContaining('not found') });
    expect((await host.run('sleep', ['5'], { timeoutMs: 200 })).exitCode).toBe(124);
  });

  it('ends the whole process group of a command that times out, not only its shell', async () => {
    const marker = `dmm-orphan-${process.pid}-${Date.now()}`;
    const result = await host.run('bash', ['-c', `(exec -a ${marker} sleep 30) & wait`], { timeoutMs: 300 });
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toMatch(/timed out/);
    // The grandchild got SIGTERM with its group; give the kernel a moment to reap it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const survivors = (await host.run('pgrep', ['-f', marker])).stdout;
    expect(survivors, 'the timed-out command left its child running').toBe('');
  });

  it('keeps withheld variables (a password from registry.passwordEnv) out of commands', async () => {
    const withholding = new NodeHost(root);
    process.env.DMM_TEST_SECRET = 'canary-value';
    process.env.DMM_TEST_KEPT = 'kept';
    try {
      withholding.withholdEnv(['DMM_TEST_SECRET', undefined]);
      const seen = await withholding.run('sh', ['-c', 'echo "[$DMM_TEST_SECRET][$DMM_TEST_KEPT]"']);
      expect(seen.stdout).toBe('[][kept]');
      // Another host, without the withholding, still hands the environment on.
      expect((await host.run('sh', ['-c', 'echo "$DMM_TEST_SECRET"'])).stdout).toBe('canary-value');
    } finally {
      delete process.env.DMM_TEST_SECRET;
      delete process.env.DMM_TEST_KEPT;
    }
  });

  it('tells its listener each command line before it runs (run.log), quoted as a shell reads it, never its input', async () => {
    const telling = new NodeHost(root);
    const lines: string[] = [];
    telling.onCommand((line) => lines.push(line));
    await telling.run('echo', ['plain', 'two words', "it's"]);
    await telling.run('cat', [], { input: 'secret-input' });
    await telling.run('sh', ['-c', 'long wrapper', 'sh', 'stop docker'], { shownAs: "sh -c 'stop docker'" });
    expect(lines).toEqual(["echo plain 'two words' 'it'\\''s'", 'cat', "sh -c 'stop docker'"]);
  });

  it('finds commands on PATH and in sbin', async () => {
    expect(await host.which('sh')).toMatch(/\/sh$/);
    expect(await host.which('no-such-command-dmm')).toBeUndefined();
    expect(await host.which('/bin/sh')).toBe('/bin/sh');
  });
});

describe('parseStatfs', () => {
  it('reads the type in hex and counts in fundamental blocks, as statfs(2) gives them', () => {
    expect(parseStatfs('58465342 4096 1024 1000 900 950\n')).toEqual({
      type: FS_MAGIC.xfs,
      blockSize: 4096,
      totalBytes: 1000 * 1024,
      availableBytes: 900 * 1024,
      freeBytes: 950 * 1024,
    });
  });

  it('refuses output it does not understand (a bug, not an empty filesystem)', () => {
    expect(() => parseStatfs('stat: unknown format')).toThrow(/unexpected output of stat -f/);
  });
});
