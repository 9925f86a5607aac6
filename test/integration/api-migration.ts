// The end-to-end migration of run.test.ts (its workload plus a paused container; run, verify,
// rollback; the host compared with the test's own snapshot) at one API version: natively, or
// through the version-pinning proxy (test/rig/api-pin-proxy.ts) in front of a rig dockerd.
// Shared by api-versions.test.ts (Debian's 20.10) and api-versions-engine26.test.ts (Engine 26).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiPinProxy, type ApiPinProxy } from '../rig/api-pin-proxy.js';
import { docker, runCli, type DaemonHandle, type RunResult } from '../rig/index.js';
import { hostSnapshot, type HostSnapshot } from '../rig/snapshot.js';
import { commandServiceAnswers, createRunWorkload, explainRun, RUN_APP } from './run-workload.js';

export const PAUSED = 'frozen';

/** The daemon under test, a scratch directory, and the host as it was before the first run. */
export interface MigrationHost {
  daemon: DaemonHandle;
  work: string;
  before: HostSnapshot;
  /** The dockerd binary that checks the new daemon.json (`--validate`, Engine 23+); undefined: none does. */
  validatedBy?: string;
  /**
   * Natively: the API version the tool must negotiate, checked in the daemon's debug log (its
   * `Calling METHOD PATH` lines; the rig's docker CLI, a 20.10 client, asks for 1.41).
   */
  negotiates?: string;
}

/** Paths of the requests a dockerd run with `debug: true` logged after `offset` bytes of its log. */
function loggedRequests(logFile: string, offset: number): string[] {
  const text = readFileSync(logFile).subarray(offset).toString('utf8');
  return [...text.matchAll(/msg="Calling (\w+) ([^"\s]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
}

/** Creates the workload (run.test.ts's, plus a paused container) and snapshots the host. */
export async function prepareMigrationHost(daemon: DaemonHandle): Promise<HostSnapshot> {
  await createRunWorkload(daemon);
  await docker(daemon, 'run', '-d', '--name', PAUSED, RUN_APP);
  await docker(daemon, 'pause', PAUSED);
  return hostSnapshot(daemon);
}

/**
 * run, verify and rollback (vfs → overlay2 and back) against `host()`, at `apiVersion` through
 * the pinning proxy, or natively when it is undefined. Each rollback puts the host back as it
 * was, so several of these may follow each other on one daemon.
 */
export function describeMigrationAt(host: () => MigrationHost, apiVersion: string | undefined, label: string): void {
  describe(`run at ${label}: vfs → overlay2 and back`, () => {
    let proxy: ApiPinProxy | undefined;
    let stateDir: string;
    let logOffset = 0;
    const key = apiVersion ?? 'native';
    const cli = (...args: string[]): Promise<RunResult> => {
      const { daemon } = host();
      return runCli(['--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, ...args], { CI: 'true' });
    };
    const explain = (result: RunResult) =>
      `${explainRun(result, host().daemon)}\n--- requests\n${(proxy?.requests ?? []).slice(-20).map((r) => `${r.method} ${r.url} (${r.userAgent})`).join('\n')}`;
    /** The host as the daemon itself shows it (not through the proxy, whose older API hides fields). */
    const snapshot = () => hostSnapshot(proxy ? { ...host().daemon.info(), dockerHost: proxy.realDockerHost } : host().daemon);

    beforeAll(async () => {
      const { daemon, work } = host();
      stateDir = join(work, `state-${key}`);
      logOffset = statSync(daemon.logFile).size;
      let startScript = daemon.startScript;
      if (apiVersion) {
        proxy = await startApiPinProxy(daemon, apiVersion);
        // The start command returns once the proxy stands in front of the new dockerd again.
        startScript = join(work, `start-behind-proxy-${key}.sh`);
        writeFileSync(startScript, `bash ${daemon.startScript} || exit 1\n${proxy.waitCommand}\n`);
      }
      const service = commandServiceAnswers({ stopScript: daemon.stopScript, startScript });
      writeFileSync(join(work, `answers-${key}.yaml`), ['target: overlay2', ...service, ''].join('\n'));
    });
    afterAll(async () => proxy?.stop());

    it(`migrates the host${apiVersion ? ', sending every request at the pinned version,' : ''} and pauses the paused container again`, async () => {
      const { before, work, validatedBy, daemon } = host();
      const result = await cli('run', '--answers', join(work, `answers-${key}.yaml`), '--yes');
      expect(result.code, explain(result)).toBe(0);
      const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
      const log = readFileSync(join(stateDir, 'runs', runId, 'run.log'), 'utf8');
      expect(log).toContain(`Unpausing ${PAUSED} to stop it`);
      expect(log).toContain(`Paused again: ${PAUSED}`);
      // The dockerd the daemon runs from checks the config, not an older one on PATH.
      if (validatedBy) expect(log).toContain(`${validatedBy} --validate: ${daemon.configFile} is valid`);
      else expect(log).not.toContain('--validate');
      const after = await snapshot();
      expect(after.driver).toBe('overlay2');
      expect(after.images).toEqual(before.images);
      expect(after.networks).toEqual(before.networks);
      expect(after.volumes).toEqual(before.volumes);
      expect(after.containers).toEqual(before.containers);
      expect(after.containers[PAUSED]).toMatchObject({ running: true, paused: true });
      expect(after.volumeFiles).toEqual(before.volumeFiles);
      const { negotiates } = host();
      if (!proxy && negotiates) {
        const logged = loggedRequests(daemon.logFile, logOffset);
        expect(logged.filter((r) => r.includes(` /v${negotiates}/`)).length).toBeGreaterThan(50);
        expect(logged.filter((r) => !/ \/(_ping|version)$| \/v1\.41\//.test(r) && !r.includes(` /v${negotiates}/`))).toEqual([]);
      }
      if (!proxy) return;
      // Only the negotiation itself is unversioned; everything else the tool sends asks for the
      // pinned version (the rig start.sh's docker CLI, a Go client, falls back to 1.24 while dockerd starts).
      const tool = proxy.requests.filter((r) => !/^(Docker-Client|Go-http-client)\//.test(r.userAgent));
      expect(tool.length).toBeGreaterThan(50);
      const stray = tool.filter((r) => !(/^\/(_ping|version)$/.test(r.url) || r.url.startsWith(`/v${apiVersion}/`))).map((r) => `${r.method} ${r.url} (${r.userAgent})`);
      expect(stray).toEqual([]);
    }, 900_000);

    it('verify is clean', async () => {
      const verify = await cli('verify');
      expect(verify.code, explain(verify)).toBe(0);
    }, 300_000);

    it('rollback puts the host back as it was, the paused container paused', async () => {
      const { before } = host();
      const result = await cli('rollback', '--yes');
      expect(result.code, explain(result)).toBe(0);
      const after = await snapshot();
      expect(after.driver).toBe('vfs');
      expect(after.images).toEqual(before.images);
      expect(after.containers).toEqual(before.containers);
      expect(after.networks).toEqual(before.networks);
      expect(after.volumes).toEqual(before.volumes);
      expect(after.volumeFiles).toEqual(before.volumeFiles);
    }, 600_000);
  });
}
