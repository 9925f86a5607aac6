// Unmounting what a daemon left behind (netns bind mounts, overlay and shm mounts of
// containers, the data-root's own private mount) so that its directory can be deleted.
import { readFileSync, rmSync } from 'node:fs';
import { run, sleep } from './proc.js';

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point === dir || point.startsWith(dir + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything at or below dir, repeating for stacked mounts. */
export async function unmountAll(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const point of points) await run('umount', ['-l', point]);
  }
}

/** Unmounts and deletes a directory tree, retrying while something still holds it. */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await unmountAll(dir);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500);
    }
  }
}
