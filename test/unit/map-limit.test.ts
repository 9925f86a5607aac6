import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/map-limit.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapLimit', () => {
  it('keeps order and bounds parallelism', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 3, async (n) => {
      active += 1;
      peak = Math.max(peak, active);
      await pause(n * 3);
      active -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(3);
  });

  it('after a failure starts nothing new, lets the running call finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapLimit([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) {
        await pause(5);
        throw new Error('first failed');
      }
      await pause(30);
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('first failed');
    // Item 2 was running when 1 failed: it finished before the error came out. 3 and 4 never began.
    expect(finished).toEqual([2]);
    expect(started).toEqual([1, 2]);
  });

  it('keeps the first of several errors', async () => {
    await expect(
      mapLimit([10, 1], 2, async (n) => {
        await pause(n);
        throw new Error(`failed ${n}`);
      }),
    ).rejects.toThrow('failed 1');
  });

  it('returns an empty list for no items', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
