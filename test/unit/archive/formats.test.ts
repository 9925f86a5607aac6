// Pure pieces: name checks, symlink resolution, PAX times, xattr records and getfattr text.
import { describe, expect, it } from 'vitest';
import { resolveSymlink, safeRelativePath } from '../../../src/archive/entry-path.js';
import { UnsafeArchiveError } from '../../../src/archive/errors.js';
import { formatPaxTime, parsePaxTime, splitDev, xattrPaxRecord, xattrsFromPax } from '../../../src/archive/tar-format.js';
import { formatSetfattrRestore, parseGetfattrDump } from '../../../src/archive/xattr.js';

describe('entry names', () => {
  it('normalises harmless names', () => {
    expect(safeRelativePath('./')).toBe('');
    expect(safeRelativePath('./a//b/./c/')).toBe('a/b/c');
    expect(safeRelativePath('a..b/..c')).toBe('a..b/..c');
  });

  it.each([
    ['an absolute path', '/etc/passwd'],
    ['a leading ..', '../x'],
    ['a .. climbing out', 'a/../../x'],
    ['a trailing ..', 'a/..'],
    ['a NUL', 'a\u0000b'],
    ['a path over PATH_MAX', `${'x/'.repeat(2100)}y`],
  ])('refuses %s', (_label, name) => {
    expect(() => safeRelativePath(name)).toThrow(UnsafeArchiveError);
  });
});

describe('symlink resolution inside the target', () => {
  const none = new Map<string, string>();
  it('follows .. lexically and through other symlinks', () => {
    expect(resolveSymlink('a/b/l', '../c', none)).toEqual({ kind: 'inside', path: 'a/c' });
    expect(resolveSymlink('a/l', '../..', none)).toEqual({ kind: 'outside' });
    expect(resolveSymlink('l', '/etc', none)).toEqual({ kind: 'absolute' });
    expect(resolveSymlink('p', 'q/..', new Map([['q', '.']]))).toEqual({ kind: 'outside' });
    expect(resolveSymlink('p', 'q/..', new Map([['q', 'r/s']]))).toEqual({ kind: 'inside', path: 'r' });
    expect(resolveSymlink('p', 'q/x', new Map([['q', '/']]))).toEqual({ kind: 'absolute' });
    expect(resolveSymlink('p', 'q', new Map([['q', 'q']]))).toEqual({ kind: 'loop' });
  });
});

describe('PAX records', () => {
  it('writes and reads nanosecond times, before 1970 too', () => {
    expect(formatPaxTime(1_600_000_000_123_456_789n)).toBe('1600000000.123456789');
    expect(formatPaxTime(1_600_000_000_000_000_000n)).toBe('1600000000');
    expect(formatPaxTime(-1_500_000_000n)).toBe('-2.5');
    expect(parsePaxTime('1600000000.123456789')).toBe(1_600_000_000_123_456_789n);
    expect(parsePaxTime('1600000000.5')).toBe(1_600_000_000_500_000_000n);
    expect(parsePaxTime('-2.5')).toBe(-2_500_000_000n);
    expect(parsePaxTime('nonsense')).toBeUndefined();
  });

  it('keeps UTF-8 xattr values in SCHILY records and binary ones exactly in LIBARCHIVE records', () => {
    expect(xattrPaxRecord('user.a', Buffer.from('text\u0000'))).toEqual(['SCHILY.xattr.user.a', 'text\u0000']);
    const [key, value] = xattrPaxRecord('user.b=c', Buffer.from([0xff, 0, 0x80]));
    expect(key).toBe('LIBARCHIVE.xattr.user.b%3Dc');
    expect(xattrsFromPax({ [key]: value, 'SCHILY.xattr.user.a': 'text' }).xattrs).toEqual(
      new Map([
        ['user.a', Buffer.from('text')],
        ['user.b=c', Buffer.from([0xff, 0, 0x80])],
      ]),
    );
    expect(xattrsFromPax({ 'SCHILY.xattr.user.c': '\uFFFD' }).lossy).toEqual(['user.c']);
  });

  it('splits device numbers as glibc does', () => {
    expect(splitDev(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(splitDev(0x1001_0305n)).toEqual({ major: 259, minor: 65541 });
    expect(splitDev(0x1000_0000_0103n)).toEqual({ major: 4097, minor: 3 });
  });
});

describe('getfattr and setfattr text', () => {
  it('parses escaped names and hex values relative to the root', () => {
    const text = ['# file: /r', 'user.root=0x72', '', '# file: /r/new\\012line', 'user.we ird\\075x=0x31', 'user.empty=0x', '', '# file: /r/back\\134slash', 'user.bin=0xff00', ''].join('\n');
    expect(parseGetfattrDump(text, '/r')).toEqual(
      new Map([
        ['', new Map([['user.root', Buffer.from('r')]])],
        ['new\nline', new Map([['user.we ird=x', Buffer.from('1')], ['user.empty', Buffer.alloc(0)]])],
        ['back\\slash', new Map([['user.bin', Buffer.from([0xff, 0])]])],
      ]),
    );
  });

  it('formats what it parses', () => {
    const entries = new Map([['new\nline', new Map([['user.we ird=x', Buffer.from([1, 2])]])]]);
    expect(parseGetfattrDump(formatSetfattrRestore(entries, '/r'), '/r')).toEqual(entries);
  });
});
