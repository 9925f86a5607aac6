// The end-to-end migration of run.test.ts (its workload; run, verify, rollback; the host compared
// with the test's own snapshot) against older engines: Red Hat's docker 1.13.1 (API 1.26),
// docker-ce 17.06 (API 1.30) and 18.09 (API 1.39), as the version-pinning proxy plays them in
// front of the rig's dockerd (test/rig/api-pin-proxy.ts), through api-migration.ts. The workload
// has a paused container too, which engines before 17.07 refuse to stop. One daemon, the versions
// one after the other: each rollback puts the host back as it was for the next. Engines 23 to 26
// (API 1.42 to 1.44): api-versions-engine26.test.ts.
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiPinProxy, type ApiPinProxy } from '../rig/api-pin-proxy.js';
import { BASE_IMAGE, docker, dockerTry, dockerWith, ensureDist, startDockerd, type DaemonHandle } from '../rig/index.js';
import type { HostSnapshot } from '../rig/snapshot.js';
import { describeMigrationAt, prepareMigrationHost } from './api-migration.js';
import { RUN_APP } from './run-workload.js';

let daemon: DaemonHandle;
let work: string;
let before: HostSnapshot;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-api-'));
  await ensureDist();
  daemon = await startDockerd({ name: 'api-versions', storageDriver: 'vfs' });
  before = await prepareMigrationHost(daemon);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** One GET to a unix socket: status, headers and body. */
function get(socketPath: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the pinning proxy stands in for docker 1.13.1 (API 1.26)', () => {
  let proxy: ApiPinProxy;
  const viaProxy = () => ({ dockerHost: proxy.dockerHost, clientConfig: daemon.clientConfig });
  beforeAll(async () => {
    proxy = await startApiPinProxy(daemon, '1.26');
  });
  afterAll(async () => proxy?.stop());

  it('answers /_ping and /version as 1.13.1, and a client version above 1.26 as 1.13.1’s successors do', async () => {
    const ping = await get(proxy.socketPath, '/_ping');
    expect([ping.status, ping.body, ping.headers['api-version']]).toEqual([200, 'OK', '1.26']);
    const version = JSON.parse((await get(proxy.socketPath, '/version')).body) as Record<string, unknown>;
    expect(version).toMatchObject({ Version: '1.13.1', ApiVersion: '1.26', MinAPIVersion: '1.12' });
    expect(version.Components).toBeUndefined();
    const tooNew = await get(proxy.socketPath, '/v1.41/info');
    expect([tooNew.status, JSON.parse(tooNew.body)]).toEqual([400, { message: 'client version 1.41 is too new. Maximum supported API version is 1.26' }]);
    // The docker CLI negotiates down to it.
    expect(await docker(viaProxy(), 'version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}')).toBe('1.13.1 1.26');
  });

  it('passes streams through: a hijacked attach, a save and a load, events', async () => {
    const started = Math.floor(Date.now() / 1000);
    expect(await dockerWith(viaProxy(), ['run', '--rm', '-i', BASE_IMAGE, 'cat'], { input: 'through the proxy\n' })).toBe('through the proxy');
    const archive = join(work, 'base.tar');
    await docker(viaProxy(), 'save', '-o', archive, BASE_IMAGE);
    expect(await docker(viaProxy(), 'load', '-i', archive)).toContain(`Loaded image: ${BASE_IMAGE}`);
    const events = await docker(viaProxy(), 'events', '--since', String(started), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=container', '--format', '{{.Action}}');
    expect(events.split('\n')).toEqual(expect.arrayContaining(['create', 'attach', 'start', 'die', 'destroy']));
  });

  it('refuses to stop a paused container as 1.13.1 does', async () => {
    await docker(daemon, 'run', '-d', '--name', 'pz', RUN_APP);
    const id = await docker(daemon, 'inspect', '-f', '{{.Id}}', 'pz');
    await docker(daemon, 'pause', 'pz');
    try {
      const stop = await dockerTry(viaProxy(), 'stop', 'pz');
      expect(stop.code).not.toBe(0);
      expect(stop.stderr).toContain(`Cannot stop container pz: Container ${id} is paused. Unpause the container before stopping`);
    } finally {
      await docker(viaProxy(), 'unpause', 'pz');
      await docker(viaProxy(), 'rm', '-f', 'pz');
    }
  });
});

for (const apiVersion of ['1.26', '1.30', '1.39']) describeMigrationAt(() => ({ daemon, work, before }), apiVersion, `API ${apiVersion}`);
