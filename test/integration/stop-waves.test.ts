// Containers stop in waves, each wave at once, each container with its own stop timeout
// (issue "Downtime a third of the runbook's"): four containers that ignore SIGTERM with
// --stop-timeout 2 are all killed by their own timeout at about the same moment. One after the
// other, with the old fixed 30 s, they took N × 30 s of downtime. What the host shows (exit code
// and FinishedAt of each), not a timing of the call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/client.js';
import { stopContainers } from '../../src/docker/containers.js';
import { stopWaves } from '../../src/plan/container-order.js';
import { BASE_IMAGE, buildImage, docker, seedBaseImage, startDockerd, type DaemonHandle } from '../rig/index.js';

const STUBBORN = 'waves/stubborn:1';
const NAMES = ['w1', 'w2', 'w3', 'w4'];
let daemon: DaemonHandle | undefined;

beforeAll(async () => {
  daemon = await startDockerd({ name: 'stop-waves', storageDriver: 'vfs' });
  await seedBaseImage(daemon);
  // PID 1 ignores SIGTERM: only the stop timeout's SIGKILL ends it.
  await buildImage(daemon, STUBBORN, `FROM ${BASE_IMAGE}\nCMD ["sh","-c","trap '' TERM; while :; do sleep 1; done"]\n`);
  for (const name of NAMES) await docker(daemon, 'run', '-d', '--name', name, '--stop-timeout', '2', STUBBORN);
  await docker(daemon, 'run', '-d', '--name', 'front', '--link', 'w1:w1', '--stop-timeout', '2', STUBBORN);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
});

describe('stopping containers in waves', () => {
  it('stops dependents first, each wave at once, each by its own stop timeout', async () => {
    const client = await connectDocker(daemon!.dockerHost);
    const all = [...NAMES, 'front'].map((name) => ({ name, links: name === 'front' ? ['w1:w1'] : [] }));
    const waves = stopWaves(all);
    expect(waves).toEqual([['front', 'w2', 'w3', 'w4'], ['w1']]);

    const results = await stopContainers(client.api, waves);
    expect(Object.values(results)).toEqual(['stopped', 'stopped', 'stopped', 'stopped', 'stopped']);

    const state = async (name: string) => {
      const [code, finished] = (await docker(daemon!, 'inspect', '--format', '{{.State.ExitCode}} {{.State.FinishedAt}}', name)).split(' ');
      return { code: Number(code), finished: Date.parse(finished!) };
    };
    const first = await Promise.all(['front', 'w2', 'w3', 'w4'].map(state));
    const last = await state('w1');
    // Killed (137) by their own 2 s timeout, not left running or stopped by a fixed one.
    for (const s of [...first, last]) expect(s.code).toBe(137);
    // One wave ends within a moment; one after the other they would be 2 s apart each.
    const spread = Math.max(...first.map((s) => s.finished)) - Math.min(...first.map((s) => s.finished));
    expect(spread).toBeLessThan(1_500);
    // The linked-to container stops only after its dependent's wave has ended.
    expect(last.finished).toBeGreaterThan(Math.max(...first.map((s) => s.finished)));
  }, 120_000);
});
