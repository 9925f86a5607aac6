// A host in RHEL 7's own shape, through the real CLI: docker.service runs dockerd-current with
// $OPTIONS $DOCKER_STORAGE_OPTIONS from /etc/sysconfig, and docker-storage-setup (a faithful
// stand-in of container-storage-setup, test/rig/container-storage-setup.sh) rewrites
// /etc/sysconfig/docker-storage before every start. The run must take the storage flags out of
// the right file and keep every other flag, and switch docker-storage-setup off, so that once
// finalize has removed the old pool it cannot build a new one and write devicemapper back.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiJson } from '../rig/api.js';
import { BASE_IMAGE, docker, ensureDist, runCli, seedBaseImage, type RunResult } from '../rig/index.js';
import { startRhelDockerd, type RhelDaemon } from '../rig/rhel-host.js';

let rhel: RhelDaemon;
let work: string;
let stateDir: string;
let answers: string;
/** The host's files before any run, byte for byte. */
const original: Record<string, string> = {};
const FILES = [
  '/etc/sysconfig/docker',
  '/etc/sysconfig/docker-storage',
  '/etc/sysconfig/docker-storage-setup',
  '/etc/sysconfig/docker-network',
  '/usr/lib/systemd/system/docker.service',
];
/** The storage flags docker-storage-setup wrote at the first start (RHEL's own line). */
const DM_FLAGS = '--storage-driver devicemapper --storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool --storage-opt dm.use_deferred_removal=true --storage-opt dm.use_deferred_deletion=true';

const read = (hostPath: string) => readFileSync(rhel.file(hostPath), 'utf8');
const driver = async () => (await apiJson<{ Driver: string }>(rhel.daemon.socketPath, '/info')).Driver;

function cli(...args: string[]): Promise<RunResult> {
  return runCli(['--state-dir', stateDir, '--docker-host', rhel.daemon.dockerHost, '--daemon-config', rhel.daemon.configFile, ...args], {
    DEVMAPPER_MIGRATE_HOST_ROOT: rhel.hostRoot,
    CI: 'true',
  });
}

function explain(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- daemon log\n${rhel.daemon.logTail(30)}`;
}

/** Restarts dockerd the way the service does (docker-storage-setup first), failing with its log. */
async function restart(): Promise<void> {
  await rhel.daemon.restartDaemon().catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n--- ${rhel.file('/etc/sysconfig/docker-storage')}:\n${read('/etc/sysconfig/docker-storage')}`);
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-rhel-'));
  stateDir = join(work, 'state');
  await ensureDist();
  rhel = await startRhelDockerd('rhel-css');
  await seedBaseImage(rhel.daemon);
  await docker(rhel.daemon, 'volume', 'create', 'rhel-data');
  await docker(rhel.daemon, 'run', '-d', '--name', 'rhel-app', '--restart', 'always', '-v', 'rhel-data:/data', BASE_IMAGE, 'sleep', '3600');
  for (const file of FILES) original[file] = read(file);
  answers = join(work, 'answers.yaml');
  writeFileSync(
    answers,
    ['target: overlay2', 'service:', '  manager: command', `  stop: bash ${rhel.daemon.stopScript}`, `  start: bash ${rhel.daemon.startScript}`, '  timeoutSeconds: 120', ''].join('\n'),
  );
}, 600_000);

afterAll(async () => {
  await rhel?.daemon.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("RHEL 7's docker.service and docker-storage-setup", () => {
  it('starts as RHEL does: docker-storage-setup wrote devicemapper into /etc/sysconfig/docker-storage, and the unit passed it on', async () => {
    expect(original['/etc/sysconfig/docker-storage']).toBe(`DOCKER_STORAGE_OPTIONS="${DM_FLAGS} "\n`);
    expect(rhel.startedWith()).toContain(`--default-runtime=docker-runc`);
    expect(rhel.startedWith()).toContain(`--signature-verification=false ${DM_FLAGS}`);
    expect(await driver()).toBe('vfs'); // devicemapper, stood in
  });

  it('run: takes the storage flags out of /etc/sysconfig/docker-storage, keeps every other flag, and sets STORAGE_DRIVER=""', async () => {
    const before = rhel.startedWith();
    const plan = await cli('run', '--answers', answers, '--dry-run');
    expect(plan.stdout, explain(plan)).toContain('edit /etc/sysconfig/docker-storage-setup: set STORAGE_DRIVER="" (was STORAGE_DRIVER=devicemapper)');
    const result = await cli('run', '--answers', answers, '--yes');
    expect(result.code, explain(result)).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('/etc/sysconfig/docker-storage-setup: STORAGE_DRIVER=devicemapper → STORAGE_DRIVER=""');
    expect(await driver()).toBe('overlay2');
    expect(read('/etc/sysconfig/docker-storage')).toBe('DOCKER_STORAGE_OPTIONS=""\n');
    expect(read('/etc/sysconfig/docker-storage-setup')).toBe(original['/etc/sysconfig/docker-storage-setup']!.replace('STORAGE_DRIVER=devicemapper', 'STORAGE_DRIVER=""'));
    // The unit and the other files are not touched, and no drop-in overrides ExecStart.
    for (const file of ['/etc/sysconfig/docker', '/etc/sysconfig/docker-network', '/usr/lib/systemd/system/docker.service']) expect(read(file)).toBe(original[file]);
    expect(() => read('/etc/systemd/system/docker.service.d/99-devmapper-migrate.conf')).toThrow();
    // dockerd-current got exactly the words it had, less the storage flags.
    expect(rhel.startedWith()).toBe(before.replace(` ${DM_FLAGS}`, ''));
    expect(JSON.parse(readFileSync(rhel.daemon.configFile, 'utf8'))['storage-driver']).toBe('overlay2');
    // The report says the container's logs were not carried (an info entry).
    const [runId] = readdirSync(join(stateDir, 'runs'));
    const report = JSON.parse(readFileSync(join(stateDir, 'runs', runId!, 'report.json'), 'utf8')) as { entries: { key: string; severity: string }[] };
    expect(report.entries).toContainEqual(expect.objectContaining({ key: 'container-logs-not-carried', severity: 'info' }));
  }, 900_000);

  it("rollback: puts docker-storage-setup's file and /etc/sysconfig/docker-storage back byte for byte, on devicemapper again", async () => {
    const result = await cli('rollback', '--yes');
    expect(result.code, explain(result)).toBe(0);
    for (const file of FILES) expect(read(file), file).toBe(original[file]);
    expect(await driver()).toBe('vfs');
    expect(rhel.daemon.logTail(200)).toContain('Found an already configured thin pool /dev/mapper/docker--vg-docker--pool');
  }, 900_000);

  it('migrate → restart → finalize → restart twice: stays on overlay2, docker-storage-setup writes nothing back', async () => {
    const result = await cli('run', '--answers', answers, '--yes');
    expect(result.code, explain(result)).toBe(0);
    await restart();
    expect(await driver()).toBe('overlay2');
    const finalized = await cli('finalize', '--yes');
    expect(finalized.code, explain(finalized)).toBe(0);
    // On a devicemapper host finalize's lvremove takes the old pool; the rig has none of its own.
    await rhel.removeThinPool();
    for (let i = 0; i < 2; i++) {
      await restart();
      expect(await driver()).toBe('overlay2');
      expect(read('/etc/sysconfig/docker-storage')).toBe('DOCKER_STORAGE_OPTIONS=""\n');
    }
    expect(rhel.daemon.logTail(400)).toContain('STORAGE_DRIVER not set, no storage will be configured');
  }, 900_000);
});
