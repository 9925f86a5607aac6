// A container that fails to start after the restore (issue 10): while the containers are down
// (the run is killed after stop-containers), another process takes the host port that
// fault-web publishes. On resume, fault-web is recreated but cannot start: it is reported,
// the other containers run, the run ends with exit 1 because its verify found a difference,
// and `verify` names fault-web.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureDist, freePort } from '../rig/index.js';
import { cli, explain, KILLED, setUpRig, tearDown, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
let port = 0;
let squatter: Server | undefined;

beforeAll(async () => {
  await ensureDist();
  port = await freePort();
  rig = await setUpRig('container-start', { webArgs: ['-p', `127.0.0.1:${port}:8080`] });
}, 600_000);

afterAll(async () => {
  try {
    await new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve()));
  } finally {
    await tearDown(rig);
  }
});

function listen(onPort: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(onPort, '127.0.0.1', () => resolve(server));
  });
}

const state = (name: string) => docker(rig!.daemon, 'inspect', '--format', '{{.State.Status}}', name);

describe('a container that cannot start after the restore', () => {
  it('is reported, the others start, and the run ends with exit 1', async () => {
    const killed = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'stop-containers:after' });
    expect(killed.code, explain(rig!, killed)).toBe(KILLED);
    expect(await state('fault-web')).toBe('exited');
    // The port fault-web publishes is free now; someone else takes it during the downtime.
    squatter = await listen(port);

    const resumed = await cli(rig!, ['resume', '--yes']);
    expect(resumed.code, explain(rig!, resumed)).toBe(1);
    expect(resumed.stderr).toMatch(/did not start: .*fault-web/);
    expect(resumed.stderr).toMatch(/verify found \d+ difference/);
    expect(await docker(rig!.daemon, 'info', '--format', '{{.Driver}}')).toBe('overlay2');
    // The rest continued: the other running container runs, the created one exists.
    expect(await state('fault-worker')).toBe('running');
    expect(await state('fault-idle')).toBe('created');
    expect(await state('fault-web')).not.toBe('running');
  }, 600_000);

  it('verify names the container that does not run (exit 1)', async () => {
    const verify = await cli(rig!, ['verify', '--json']);
    expect(verify.code, explain(rig!, verify)).toBe(1);
    const report = JSON.parse(verify.stdout) as { entries: { severity: string; key: string }[] };
    const blockers = report.entries.filter((e) => e.severity === 'blocker');
    expect(blockers.length, verify.stdout).toBeGreaterThan(0);
    expect(JSON.stringify(blockers)).toContain('fault-web');
    expect(JSON.stringify(blockers)).not.toContain('fault-worker');
    const text = await cli(rig!, ['verify']);
    expect(text.code).toBe(1);
    expect(text.stdout + text.stderr).toContain('fault-web');
  }, 300_000);

  it('once the port is free again, the container starts and verify is clean', async () => {
    await new Promise<void>((resolve) => squatter!.close(() => resolve()));
    squatter = undefined;
    await docker(rig!.daemon, 'start', 'fault-web');
    const verify = await cli(rig!, ['verify']);
    expect(verify.code, explain(rig!, verify)).toBe(0);
  }, 300_000);
});
