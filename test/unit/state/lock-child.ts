// A separate process racing for the state dir's lock (test/unit/state/lock.test.ts): waits for
// the start time it is given, tries once, and reports what it got on stdout as one JSON line.
import { acquireLock } from '../../../src/state/lock.js';

const [stateDir, name, startAt, holdMs] = process.argv.slice(2) as [string, string, string, string];

async function main(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  try {
    const lock = await acquireLock(stateDir, name);
    process.stdout.write(JSON.stringify({ name, pid: process.pid, acquired: true, takenOverFrom: lock.takenOverFrom ?? null }) + '\n');
    await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
    await lock.release();
  } catch (error) {
    process.stdout.write(JSON.stringify({ name, pid: process.pid, acquired: false, message: (error as Error).message }) + '\n');
  }
}

void main();
