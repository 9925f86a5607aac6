// `preflight` against the rig's real daemon (vfs standing in for devicemapper), run as
// operators run it: the single-file build. The test adds what preflight must warn about
// (a --rm container, a paused one, an anonymous volume) and removes it afterwards.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PreflightFacts } from '../../src/facts/types.js';
import type { ReportEntry } from '../../src/report/entry.js';
import { docker, dockerTry, ensureDist, runCli } from '../rig/index.js';

const rig = inject('rig');
const daemon = rig.daemon;
const NAMES = { rm: 'pf-test-rm', paused: 'pf-test-paused', anon: 'pf-test-anon' };

interface PreflightJson {
  facts: PreflightFacts;
  entries: ReportEntry[];
  summary: { blockers: number; warnings: number; info: number };
}

let stateDir: string;
let scratch: string;

async function cleanup(): Promise<void> {
  await dockerTry(daemon, 'unpause', NAMES.paused);
  for (const name of Object.values(NAMES)) await dockerTry(daemon, 'rm', '-f', '-v', name);
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'dmm-pf-state-'));
  scratch = mkdtempSync(join(tmpdir(), 'dmm-pf-scratch-'));
  await ensureDist();
  await cleanup();
  await docker(daemon, 'run', '-d', '--rm', '--name', NAMES.rm, rig.baseImage, 'sleep', '600');
  await docker(daemon, 'run', '-d', '--name', NAMES.paused, rig.baseImage, 'sleep', '600');
  await docker(daemon, 'pause', NAMES.paused);
  await docker(daemon, 'create', '--name', NAMES.anon, '-v', '/data', rig.baseImage, 'true');
});

afterAll(async () => {
  try {
    await cleanup();
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
});

function preflight(...extra: string[]) {
  return runCli(['--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, '--state-dir', stateDir, 'preflight', ...extra]);
}

describe('preflight against the rig daemon', () => {
  it('--json names the driver, the daemon process and the findings', async () => {
    const result = await preflight('--json');
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as PreflightJson;
    const { facts, entries, summary } = report;

    expect(facts.docker.daemon.driver).toBe('vfs');
    expect(facts.docker.daemon.dockerRootDir).toBe(daemon.dataRoot);
    // Several dockerds may run here; the one found must be the rig's, by its -H flag.
    const rigPid = Number(readFileSync(daemon.pidFile, 'utf8').trim());
    expect(facts.host.dockerd).toMatchObject({ pid: rigPid, matchedBy: 'host-flag' });
    expect(facts.host.daemonJson.path).toBe(daemon.configFile);
    expect(JSON.parse(facts.host.daemonJson.text!)['storage-driver']).toBe('vfs');
    expect(facts.host.dataRoot.exists).toBe(true);
    expect(facts.host.dataRoot.space?.availableBytes).toBeGreaterThan(0);
    expect(facts.host.installedDockerd?.versionOutput).toMatch(/^Docker version 20\.10/);

    const byKey = new Map(entries.map((e) => [e.key, e]));
    expect(byKey.get('source-driver')?.title).toBe('Storage driver: vfs');
    expect(byKey.has('source-driver-unsupported')).toBe(false);
    expect(byKey.get('containers-auto-remove')?.summary).toContain(NAMES.rm);
    expect(byKey.get('containers-paused')?.summary).toContain(NAMES.paused);
    const anonymous = byKey.get('volumes-anonymous')?.details?.volumes as { usedBy: string[] }[];
    expect(anonymous.some((v) => v.usedBy.includes(NAMES.anon))).toBe(true);
    expect(byKey.get('downtime-estimate')?.details?.totalSeconds).toBeGreaterThan(0);
    expect(byKey.get('space-estimate')?.details?.estimate).toMatchObject({ imageCount: expect.any(Number) });

    const rank = { blocker: 0, warning: 1, info: 2 };
    const order = entries.map((e) => rank[e.severity]);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(summary).toEqual({
      blockers: entries.filter((e) => e.severity === 'blocker').length,
      warnings: entries.filter((e) => e.severity === 'warning').length,
      info: entries.filter((e) => e.severity === 'info').length,
    });
    expect(result.code).toBe(summary.blockers > 0 ? 1 : 0);
  });

  it('prints a facts summary and the findings for people', async () => {
    const result = await preflight();
    expect(result.stdout).toMatch(/^Storage driver\s+vfs$/m);
    expect(result.stdout).toContain(`Docker host     ${daemon.dockerHost} (dockerd pid`);
    expect(result.stdout).toMatch(/^BLOCKER Running containers started with --rm \[containers-auto-remove\]$/m);
    expect(result.stdout).toMatch(/\d+ blockers?, \d+ warnings?, \d+ notes?\./);
  });

  it('reads system files under DEVMAPPER_MIGRATE_HOST_ROOT', async () => {
    // An empty root: no units, no /proc, no mounts; Docker facts still come from the API.
    const result = await runCli(
      ['--docker-host', daemon.dockerHost, '--state-dir', stateDir, 'preflight', '--json'],
      { DEVMAPPER_MIGRATE_HOST_ROOT: scratch },
    );
    const report = JSON.parse(result.stdout) as PreflightJson;
    expect(report.facts.docker.daemon.driver).toBe('vfs');
    expect(report.facts.host.dockerd).toBeUndefined();
    expect(report.facts.host.systemd.service).toEqual([]);
    expect(report.entries.map((e) => e.key)).toContain('dockerd-process-not-found');
  });
});

describe('preflight where Docker does not answer', () => {
  it('says so plainly for a socket path with nothing there, as a blocker of a report on the host (exit 1)', async () => {
    const socket = join(scratch, 'missing', 'docker.sock');
    const result = await runCli(['--docker-host', `unix://${socket}`, 'preflight']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^BLOCKER The Docker daemon does not answer \[daemon-unreachable\]$/m);
    expect(result.stdout).toContain(socket);
    expect(result.stdout).toContain('Cannot reach the Docker daemon');
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
  });

  it('says so plainly for a stale socket nothing listens on', async () => {
    // A daemon that died without cleaning up leaves its socket file behind.
    const socket = join(scratch, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`]);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      expect(existsSync(socket)).toBe(true);
      const result = await runCli(['--docker-host', `unix://${socket}`, 'preflight', '--json']);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as PreflightJson;
      expect(report.facts.daemonDown?.message).toContain(socket);
      expect(report.facts.daemonDown?.message).toMatch(/nothing listens there/);
      expect(report.entries.find((e) => e.key === 'daemon-unreachable')?.severity).toBe('blocker');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
