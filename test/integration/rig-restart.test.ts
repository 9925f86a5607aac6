// The rig's start script is the service manager of the fault tests (rollback and resume start
// the daemon through it). A daemon killed with SIGKILL leaves its pid file and its containerd's
// naming processes that this machine's init reaps late: zombies, which dockerd takes for live
// ones (it waits on the dead containerd's socket until "timeout waiting for containerd to
// start"). The start script must start the daemon regardless, as systemd would.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type DaemonHandle } from '../rig/index.js';

let daemon: DaemonHandle | undefined;
const parents: number[] = [];

beforeAll(async () => {
  daemon = await startDockerd({ name: 'rig-restart', storageDriver: 'vfs' });
}, 180_000);

afterAll(async () => {
  for (const pid of parents) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await daemon?.stop();
});

/**
 * A zombie that stays one: its parent (a long sleep, exec'd over the shell) never reaps it.
 * The child outlives the shell's exec by a second: one that ended first (`sleep 0`) could be
 * reaped by the shell itself, and then there was no zombie, nor any /proc entry, to find.
 */
async function plantZombie(): Promise<number> {
  const parent = spawn('bash', ['-c', 'sleep 1 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  parents.push(parent.pid!);
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (data: Buffer) => resolve(Number(String(data).trim()))));
  parent.unref();
  for (let i = 0; i < 50; i++) {
    if (/^[^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`process ${pid} did not become a zombie`);
}

describe('the rig daemon starts again over zombie pid files', () => {
  it("starts although its containerd's pid file names a zombie", async () => {
    await daemon!.stopDaemon();
    const containerdDir = join(daemon!.execRoot, 'containerd');
    mkdirSync(containerdDir, { recursive: true });
    writeFileSync(join(containerdDir, 'containerd.pid'), String(await plantZombie()));
    await daemon!.startDaemon();
    expect(daemon!.pid).toBeGreaterThan(0);
  }, 180_000);

  it("starts although dockerd's own pid file names a zombie", async () => {
    await daemon!.stopDaemon();
    writeFileSync(daemon!.pidFile, String(await plantZombie()));
    await daemon!.startDaemon();
    expect(daemon!.pid).toBeGreaterThan(0);
  }, 180_000);
});
