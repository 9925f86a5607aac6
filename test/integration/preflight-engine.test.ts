// Hosts whose engine was upgraded before the migration, on a private overlay2 dockerd: a
// data-root whose devicemapper/ still holds a pool next to the daemon's overlay2 (what Engine
// v25 leaves when it starts without a driver named), and the same host with the daemon down.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreflightFacts } from '../../src/facts/types.js';
import type { ReportEntry } from '../../src/report/entry.js';
import { BASE_IMAGE, docker, ensureDist, runCli, seedBaseImage, startDockerd, type DaemonHandle, type RunResult } from '../rig/index.js';

interface PreflightJson {
  facts: PreflightFacts;
  entries: ReportEntry[];
}

let daemon: DaemonHandle;
let stateDir: string;

/** devicemapper's files as a loop-lvm daemon leaves them: device metadata, and the pool's sparse loop files. */
function plantDevicemapperPool(dataRoot: string): void {
  const dm = join(dataRoot, 'devicemapper');
  mkdirSync(join(dm, 'metadata'), { recursive: true });
  mkdirSync(join(dm, 'devicemapper'), { recursive: true });
  writeFileSync(join(dm, 'metadata', 'base'), '{"device_id":0,"size":10737418240,"transaction_id":1,"initialized":true,"deleted":false}');
  writeFileSync(join(dm, 'metadata', 'deviceset-metadata'), '{"next_device_id":3,"BaseDeviceUUID":"4b2f1d6e-6c1e-4e55-9b7e-2a1f0d1c9e11","BaseDeviceFilesystem":"xfs"}');
  writeFileSync(join(dm, 'metadata', 'transaction-metadata'), '{"open_transaction_id":2,"device_hash":"","device_id":0}');
  writeFileSync(join(dm, 'metadata', '8d1e6f0c2b7a4e3d9c5b1a0f6e2d8c4b7a3f9e1d5c0b6a2f8e4d1c7b3a9f5e0d'), '{"device_id":2,"size":10737418240,"transaction_id":2,"initialized":false,"deleted":false}');
  for (const file of ['data', 'metadata']) {
    writeFileSync(join(dm, 'devicemapper', file), '');
    truncateSync(join(dm, 'devicemapper', file), file === 'data' ? 100 * 2 ** 30 : 2 * 2 ** 30);
  }
}

function preflight(...extra: string[]) {
  return runCli(['--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, '--state-dir', stateDir, 'preflight', ...extra]);
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'dmm-pf-engine-'));
  await ensureDist();
  daemon = await startDockerd({ name: 'pf-engine', storageDriver: 'overlay2' });
  plantDevicemapperPool(daemon.dataRoot);
});

afterAll(async () => {
  try {
    await daemon?.stop();
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

describe('a populated devicemapper/ next to the running overlay2', () => {
  it('is a blocker with the story and the fix, not "already on overlay2, nothing to migrate"', async () => {
    expect(readdirSync(daemon.dataRoot)).toEqual(expect.arrayContaining(['devicemapper', 'overlay2']));
    const result = await preflight('--json');
    expect(result.stderr).toBe('');
    const { facts, entries } = JSON.parse(result.stdout) as PreflightJson;
    expect(facts.docker.daemon.driver).toBe('overlay2');
    expect(facts.host.dataRoot.devicemapper).toMatchObject({ metadataCount: 4, poolFiles: ['data', 'metadata'] });
    const keys = entries.map((e) => e.key);
    expect(keys).not.toContain('already-on-target');
    const blocker = entries.find((e) => e.key === 'devicemapper-data-not-in-use')!;
    expect(blocker.severity).toBe('blocker');
    expect(blocker.summary).toContain(`${daemon.dataRoot}/devicemapper holds 4 file(s) in devicemapper/metadata`);
    expect(blocker.remediation).toContain(`Do not delete ${daemon.dataRoot}/devicemapper`);
    expect(result.code).toBe(1);
  });
});

describe('the same host with the daemon down', () => {
  it('still reports the configuration and the data-root, with the unreachable daemon as a blocker', async () => {
    await daemon.stopDaemon();
    // The rig passes --data-root as a flag; an operator's host has it in daemon.json.
    writeFileSync(daemon.configFile, JSON.stringify({ 'storage-driver': 'devicemapper', 'data-root': daemon.dataRoot, 'oom-score-adjust': -500 }));
    const result = await preflight('--json', '--target-engine', '25');
    const { facts, entries } = JSON.parse(result.stdout) as PreflightJson;
    expect(facts.daemonDown?.message).toContain(daemon.socketPath);
    expect(facts.host.dataRoot.path).toBe(daemon.dataRoot);
    expect(facts.host.dataRoot.driverDirs).toEqual(['devicemapper', 'overlay2']);
    expect(facts.host.journal).toBeDefined();
    const byKey = new Map(entries.map((e) => [e.key, e]));
    expect(byKey.get('daemon-unreachable')?.severity).toBe('blocker');
    expect(byKey.get('engine-removed-oom-score-adjust')?.severity).toBe('blocker');
    expect(byKey.get('engine-target')?.title).toBe('Target engine: Docker 25.0');
    expect(result.code).toBe(1);
  });
});

describe('run: the target engine, checked again after the cutover', () => {
  let old: DaemonHandle;
  let work: string;
  const cli = (...args: string[]): Promise<RunResult> =>
    runCli(['--state-dir', join(work, 'state'), '--docker-host', old.dockerHost, '--daemon-config', old.configFile, ...args], { CI: 'true' });
  const explain = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- daemon log\n${old.logTail(20)}`;
  const answers = (extra: string) => {
    const file = join(work, 'answers.yaml');
    writeFileSync(
      file,
      `target: overlay2\nservice:\n  manager: command\n  stop: bash ${old.stopScript}\n  start: bash ${old.startScript}\n  timeoutSeconds: 120\n${extra}`,
    );
    return file;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'dmm-pf-engine-run-'));
    // Engine 20.10 still takes oom-score-adjust; 25.0 removed it. RHEL's runtime name, defined
    // on plain runc (the fix the tool gives), for a container created with it.
    old = await startDockerd({
      name: 'pf-engine-run',
      storageDriver: 'vfs',
      daemonConfig: { 'oom-score-adjust': -500, runtimes: { 'docker-runc': { path: 'runc' } } },
    });
    await seedBaseImage(old);
    await docker(old, 'create', '--name', 'rhel-made', '--runtime', 'docker-runc', BASE_IMAGE, 'true');
  });

  it("preflight reads the containers' runtime, and the name defined on runc is no finding", async () => {
    const result = await cli('preflight', '--json');
    const { facts, entries } = JSON.parse(result.stdout) as PreflightJson;
    expect(facts.docker.inventory.containers.find((c) => c.name === 'rhel-made')?.runtime).toBe('docker-runc');
    const keys = entries.map((e) => e.key);
    expect(keys).not.toContain('engine-runtime-docker-runc-containers');
    expect(keys).not.toContain('engine-runtime-docker-runc-flags');
    expect(entries.find((e) => e.key === 'engine-removed-oom-score-adjust')?.severity).toBe('blocker');
  });

  afterAll(async () => {
    try {
      await old?.stop();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses to start while the target engine would refuse the configuration, and names the key', async () => {
    const result = await cli('run', '--answers', answers(''), '--yes');
    expect(result.code, explain(result)).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain('engine-removed-oom-score-adjust');
  });

  it('with the blocker waived, migrates and puts what the engine refuses into the report', async () => {
    const result = await cli('run', '--answers', answers('ignoreBlockers: [engine-removed-oom-score-adjust]\n'), '--yes');
    expect(result.code, explain(result)).toBe(0);
    const runId = readFileSync(join(work, 'state', 'current'), 'utf8').trim();
    const report = JSON.parse(readFileSync(join(work, 'state', 'runs', runId, 'report.json'), 'utf8')) as { entries: ReportEntry[] };
    const byKey = new Map(report.entries.map((e) => [e.key, e]));
    expect(byKey.get('engine-target')?.title).toMatch(/^Target engine: Docker \d+\.\d+$/);
    const refused = byKey.get('engine-removed-oom-score-adjust');
    expect(refused?.severity).toBe('warning');
    expect(refused?.summary).toContain(old.configFile);
    expect(refused?.summary).toContain('Fix it before the engine upgrade.');
    expect(readFileSync(join(work, 'state', 'runs', runId, 'report.txt'), 'utf8')).toContain('engine-removed-oom-score-adjust');
  }, 600_000);
});
