/** Streamed sha256 of a whole file: how a resumed run checks an archive it made before. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** Hex sha256 of a file's bytes, streamed; undefined when the file is not there. */
export async function sha256OfFile(file: string, signal?: AbortSignal): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash, { signal });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return hash.digest('hex');
}

/** Whether `file` is there with the recorded sha256 ("<hex>" or "sha256:<hex>"). */
export async function fileMatchesSha256(file: string, recorded: string | undefined, signal?: AbortSignal): Promise<boolean> {
  if (!recorded) return false;
  return (await sha256OfFile(file, signal)) === recorded.replace(/^sha256:/, '');
}
