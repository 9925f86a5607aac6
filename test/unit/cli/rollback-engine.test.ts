// Issue 21: a host upgraded to Engine v25+ after its migration cannot run devicemapper again, so
// `rollback` refuses before it changes anything and says what to do (the old engine first).
// The "daemon" is a small HTTP server on a unix socket; the installed dockerd a script on PATH.
import { DEVICEMAPPER_HOST_DAEMON } from '../steps/step-context.js';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineRefusesRollback } from '../../../src/run/engine-guard.js';
import { RunStore } from '../../../src/state/run-store.js';
import { runCli } from '../run-cli.js';

const RUN_ID = '20261201-000000-aaaa';
let dir: string;
let server: http.Server | undefined;
let requests: string[];
const savedPath = process.env.PATH;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-rollback-engine-'));
  requests = [];
});

afterEach(async () => {
  process.env.PATH = savedPath;
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A daemon that answers /_ping and /version as Engine `version` would, and records every request. */
async function fakeDaemon(version: string): Promise<string> {
  const socket = path.join(dir, 'docker.sock');
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('Content-Type', req.url?.endsWith('/_ping') ? 'text/plain' : 'application/json');
    res.end(req.url?.endsWith('/_ping') ? 'OK' : JSON.stringify({ Version: version, ApiVersion: '1.45' }));
  });
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
  return `unix://${socket}`;
}

/** `dockerd` first on PATH, printing what Debian's 26.1.5 prints for --version. */
async function installedDockerd(versionLine: string): Promise<void> {
  const bin = path.join(dir, 'bin');
  await rm(bin, { recursive: true, force: true });
  await mkdir(bin);
  await writeFile(path.join(bin, 'dockerd'), `#!/bin/sh\necho '${versionLine}'\n`);
  await chmod(path.join(bin, 'dockerd'), 0o755);
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
}

/** A completed devicemapper → overlay2 run on Engine 20.10 with one change to undo. */
async function migratedRun(dockerHost: string): Promise<RunStore> {
  const store = await RunStore.create(path.join(dir, 'state'), { dockerHost, daemonConfig: '/etc/docker/daemon.json' }, [{ id: 'cutover', title: 'Cutover' }], {
    runId: RUN_ID,
  });
  await store.setNote('daemon', DEVICEMAPPER_HOST_DAEMON);
  await store.journal('cutover', 'daemon-config', { path: '/etc/docker/daemon.json' });
  await store.setStatus('completed');
  return store;
}

const rollback = (dockerHost: string) => runCli(['--state-dir', path.join(dir, 'state'), '--docker-host', dockerHost, 'rollback', '--yes'], { CI: 'true' });

describe('rollback after an upgrade to Engine v25+', () => {
  it('is refused while Engine 26 runs: exit 4, the steps with the old engine first, nothing touched', async () => {
    const dockerHost = await fakeDaemon('26.1.5+dfsg1');
    await migratedRun(dockerHost);
    const result = await rollback(dockerHost);
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain(`Run ${RUN_ID} cannot be rolled back while Docker Engine 26.1.5+dfsg1 is running`);
    expect(result.err).toContain('puts the devicemapper storage driver back, and Engine v25 and newer cannot start on it');
    expect(result.err).toContain('Nothing was changed: the host stays on overlay2.');
    expect(result.err).toMatch(/1\. Stop Docker, install the engine this run started with \(20\.10\.24; at most 24\.x for devicemapper\)/);
    expect(result.err).toContain(`2. Run \`devmapper-migrate rollback ${RUN_ID}\` again.`);
    // Only questions were asked of the daemon, and the run is as it was.
    expect(requests.every((r) => r.startsWith('GET ') && /\/(_ping|version)$/.test(r)), requests.join(', ')).toBe(true);
    const after = await RunStore.open(path.join(dir, 'state'), RUN_ID);
    expect(after.state.status).toBe('completed');
    expect(after.state.journal.map((e) => e.undoneAt)).toEqual([undefined]);
  });

  it('is refused when Engine 26 is installed while the daemon is down, naming the dockerd', async () => {
    await installedDockerd('Docker version 26.1.5+dfsg1, build 411e817');
    const down = `unix://${path.join(dir, 'nothing-here.sock')}`;
    await migratedRun(down);
    const result = await rollback(down);
    expect(result.code, result.err).toBe(4);
    expect(result.err).toContain(`while Docker Engine 26.1.5+dfsg1 is installed (${path.join(dir, 'bin', 'dockerd')})`);
  });

  it('goes ahead under the engine the run started with', async () => {
    await installedDockerd('Docker version 20.10.24+dfsg1, build 297e128');
    const dockerHost = await fakeDaemon('20.10.24+dfsg1');
    await migratedRun(dockerHost);
    const result = await rollback(dockerHost);
    // It got past the engine check to the run's files (this fixture has no answers.json).
    expect(result.err).not.toContain('cannot be rolled back while');
    expect(result.err).toContain('is missing answers.json');
  });
});

describe('rollback of a rescue-mode run (source.dockerd) under Engine 26', () => {
  it('is not refused: the data goes back and the installed engine is left as it was', async () => {
    await installedDockerd('Docker version 26.1.5+dfsg1, build 411e817');
    const dockerHost = await fakeDaemon('26.1.5+dfsg1');
    const store = await migratedRun(dockerHost);
    await store.setNote('rescue', { spec: { dockerd: '/root/dockerd-20.10' }, dockerHost: 'unix:///nowhere', legacyVersion: '20.10.24', installed: { wasRunning: false } });
    const result = await rollback(dockerHost);
    expect(result.err).not.toContain('cannot be rolled back while');
    // Past the engine check, to the run's files (this fixture has no answers.json).
    expect(result.err).toContain('is missing answers.json');
  });
});

describe('engineRefusesRollback', () => {
  const run = { runId: RUN_ID, sourceDriver: 'devicemapper', targetDriver: 'overlay2', sourceVersion: '20.10.24' };

  it('refuses devicemapper from v25 on, not under 24.x', () => {
    expect(engineRefusesRollback(run, [{ version: '25.0.0', state: 'running' }])?.exitCode).toBe(4);
    expect(engineRefusesRollback(run, [{ version: '24.0.9', state: 'running' }, { version: '24.0.9', state: 'installed', path: '/usr/bin/dockerd' }])).toBeUndefined();
    expect(engineRefusesRollback(run, [])).toBeUndefined();
  });

  it('refuses aufs and overlay from v24 on; overlay2 and vfs sources never', () => {
    expect(engineRefusesRollback({ ...run, sourceDriver: 'aufs' }, [{ version: '24.0.0', state: 'running' }])).toBeDefined();
    expect(engineRefusesRollback({ ...run, sourceDriver: 'overlay' }, [{ version: '23.0.6', state: 'running' }])).toBeUndefined();
    expect(engineRefusesRollback({ ...run, sourceDriver: 'vfs' }, [{ version: '28.0.0', state: 'running' }])).toBeUndefined();
  });
});
