import { chmodSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDescriptor } from '../../../src/host/flock.js';

describe('lockDescriptor', () => {
  const saved = { PATH: process.env.PATH, canary: process.env.DMM_TEST_CANARY };
  let dir = '';
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.canary === undefined) delete process.env.DMM_TEST_CANARY;
    else process.env.DMM_TEST_CANARY = saved.canary;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Found by the secrets integration test: flock(1) inherited the whole environment, a
  // registry password included, and held it in /proc/<pid>/environ while it ran.
  it('hands flock(1) no variable but PATH', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dmm-flock-'));
    const seen = join(dir, 'environment');
    writeFileSync(join(dir, 'flock'), `#!/bin/sh\nenv > '${seen}'\nexit 0\n`);
    chmodSync(join(dir, 'flock'), 0o755);
    process.env.PATH = `${dir}:${saved.PATH ?? ''}`;
    process.env.DMM_TEST_CANARY = 'hunter2';
    const fd = openSync(join(dir, 'lock'), 'w');
    try {
      expect(await lockDescriptor(fd)).toBe('locked');
    } finally {
      closeSync(fd);
    }
    const names = readFileSync(seen, 'utf8').split('\n').filter(Boolean).map((line) => line.split('=')[0] ?? '');
    expect(names).not.toContain('DMM_TEST_CANARY');
    expect(names.filter((name) => !['PATH', 'PWD', 'SHLVL', '_'].includes(name))).toEqual([]);
  });

  it('says busy when another descriptor holds the lock', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dmm-flock-'));
    const first = openSync(join(dir, 'lock'), 'w');
    const second = openSync(join(dir, 'lock'), 'w');
    try {
      expect(await lockDescriptor(first)).toBe('locked');
      expect(await lockDescriptor(second)).toBe('busy');
    } finally {
      closeSync(first);
      closeSync(second);
    }
  });
});
