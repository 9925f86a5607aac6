import { describe, expect, it } from 'vitest';
import { parsePaxRecords, paxSize, readTarHeader, TAR_BLOCK, tarNumber } from '../../../src/archive/tar-header.js';

describe('tar headers', () => {
  it('reads PAX records and stops at one whose length runs past the data or is no length', () => {
    const good = '20 path=srv/a/b/c/d\n';
    expect(good.length).toBe(20);
    expect(parsePaxRecords(Buffer.from(`${good}99 path=x\n`)).map(([k, v]) => [k, v.toString()])).toEqual([['path', 'srv/a/b/c/d']]);
    expect(parsePaxRecords(Buffer.from('-5 path=x\n'))).toEqual([]);
    expect(parsePaxRecords(Buffer.from('1 x'))).toEqual([]);
  });

  it('reads octal and base-256 numbers and refuses anything else', () => {
    expect(tarNumber(Buffer.from('00000000644\0'))).toBe(0o644);
    expect(tarNumber(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))).toBe(65536);
    expect(tarNumber(Buffer.from('12x4\0'))).toBeUndefined();
    expect(tarNumber(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
  });

  it('takes a PAX size only when it is a whole number', () => {
    expect(paxSize('4096')).toBe(4096);
    expect(paxSize('-1')).toBeUndefined();
    expect(paxSize('1e9')).toBeUndefined();
    expect(paxSize(undefined)).toBeUndefined();
  });

  it('refuses a short block and a zeroed checksum', () => {
    expect(() => readTarHeader(Buffer.alloc(100), 512)).toThrow(/cut short inside the header at byte 512/);
    const block = Buffer.alloc(TAR_BLOCK);
    block.write('f', 0);
    expect(() => readTarHeader(block, 0)).toThrow(/bad checksum/);
  });
});
