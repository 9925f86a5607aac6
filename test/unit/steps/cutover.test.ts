// The cutover steps that execute from their plan parameters (plan.json), against a fixture host:
// what they edit is what the plan names, not what the run's context would derive again.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import type { StepParams } from '../../../src/plan/plan.js';
import { recorded as recordedHost } from '../verify/helpers.js';
import { answersFor, removeStepDirs, stepTest, type StepTest } from './step-context.js';

const roots: string[] = [];
afterEach(async () => {
  removeStepDirs();
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A devicemapper host: daemon.json names the driver, /etc/sysconfig/docker-storage carries the flag. */
async function devicemapperHost(): Promise<FixtureHost> {
  const root = await mkdtemp(join(tmpdir(), 'dmm-cutover-host-'));
  roots.push(root);
  await mkdir(join(root, 'etc', 'docker'), { recursive: true });
  await mkdir(join(root, 'etc', 'sysconfig'), { recursive: true });
  await writeFile(join(root, 'etc', 'docker', 'daemon.json'), '{\n  "storage-driver": "devicemapper"\n}\n');
  await writeFile(join(root, 'etc', 'sysconfig', 'docker-storage'), 'DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper"\n');
  return new FixtureHost(root);
}

function plan(t: StepTest, params: StepParams): void {
  t.ctx.plan.steps.find((s) => s.id === params.id)!.params = params;
}

describe('rewrite-config', () => {
  it('writes the plan’s driver to the plan’s config file and edits the plan’s flag files', async () => {
    const host = await devicemapperHost();
    const t = await stepTest({ recorded: recordedHost(), host, steps: ['rewrite-config'] });
    plan(t, {
      id: 'rewrite-config',
      configPath: '/etc/docker/daemon.json',
      backupDir: t.store.path('config-backup'),
      driver: 'overlay2',
      flagEdits: [{ path: '/etc/sysconfig/docker-storage', kind: 'environment-file', variable: 'DOCKER_STORAGE_OPTIONS', removes: ['--storage-driver devicemapper'] }],
    });
    expect(await t.run('rewrite-config')).toBe('done');
    expect(JSON.parse(await readFile(join(host.root, 'etc', 'docker', 'daemon.json'), 'utf8'))).toEqual({ 'storage-driver': 'overlay2' });
    expect(await readFile(join(host.root, 'etc', 'sysconfig', 'docker-storage'), 'utf8')).toBe('DOCKER_STORAGE_OPTIONS=""\n');
    expect(t.said).toContain('/etc/sysconfig/docker-storage: removed --storage-driver devicemapper');
    // Both files kept for rollback: journalled with their backups.
    const edited = t.store.state.journal.filter((e) => e.kind === 'edited-file').map((e) => e.data.path);
    expect(edited).toEqual(['/etc/docker/daemon.json', '/etc/sysconfig/docker-storage']);
  });

  it('leaves a flag file the plan does not name alone', async () => {
    const host = await devicemapperHost();
    const t = await stepTest({ recorded: recordedHost(), host, steps: ['rewrite-config'] });
    await t.run('rewrite-config');
    expect(await readFile(join(host.root, 'etc', 'sysconfig', 'docker-storage'), 'utf8')).toBe('DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper"\n');
  });
});

describe('keep-data-root', () => {
  /** A host whose data-root holds one file; the answers ask for an archive besides the move. */
  async function dataRootHost() {
    const host = await devicemapperHost();
    await mkdir(join(host.root, 'var', 'lib', 'docker'), { recursive: true });
    await writeFile(join(host.root, 'var', 'lib', 'docker', 'engine-id'), 'x');
    const t = await stepTest({ recorded: recordedHost(), host, steps: ['keep-data-root'], answers: (stateDir) => answersFor(stateDir, { backup: { directory: stateDir, dataRoot: 'move+archive' } }) });
    return { host, t };
  }

  it('keeps the data-root its parameters name, and archives only when they name an archive', async () => {
    const { host, t } = await dataRootHost();
    plan(t, { id: 'keep-data-root', dataRoot: '/var/lib/docker', keptPath: `/var/lib/docker.devmapper-migrate-${t.store.runId}`, move: true });
    expect(await t.run('keep-data-root')).toBe('done');
    expect(await readFile(join(host.root, 'var', 'lib', `docker.devmapper-migrate-${t.store.runId}`, 'engine-id'), 'utf8')).toBe('x');
    expect(t.store.isUnitDone('data-root-archive')).toBe(false);
    expect(t.said).toEqual([`Moved /var/lib/docker to /var/lib/docker.devmapper-migrate-${t.store.runId}`]);
  });
});

describe('start-daemon', () => {
  async function started(driver: 'overlay2' | 'devicemapper') {
    const t = await stepTest({ recorded: recordedHost(), host: await devicemapperHost(), steps: ['start-daemon'] });
    t.ctx.service = { kind: 'command', reason: 'test', startCommand: 'true', stopCommand: 'true', startCommands: ['true'], stopCommands: ['true'] };
    t.docker.facts = { ...t.docker.facts, driver: 'overlay2' };
    plan(t, { id: 'start-daemon', commands: ['true'], driver });
    return t;
  }

  it('accepts the daemon on the driver its parameters name', async () => {
    const t = await started('overlay2');
    expect(await t.run('start-daemon')).toBe('done');
    expect(t.said.at(-1)).toMatch(/^Docker answers on overlay2 after/);
  });

  it('refuses a daemon on another driver than its parameters name (plan.json)', async () => {
    const t = await started('devicemapper');
    await expect(t.rerun('start-daemon')).rejects.toThrow('Docker came up on the overlay2 storage driver, not on devicemapper.');
  });
});

describe('stop-daemon', () => {
  it('deletes only the stopped daemon’s bridges its parameters name, not another daemon’s on the same subnet', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dmm-bridges-host-'));
    roots.push(root);
    for (const bridge of ['br-planned', 'br-other']) {
      await mkdir(join(root, 'sys', 'class', 'net', bridge, 'bridge'), { recursive: true });
      await writeFile(join(root, 'sys', 'class', 'net', bridge, 'operstate'), 'down\n');
    }
    const addresses = ['5: br-planned    inet 10.1.0.1/24 brd 10.1.0.255 scope global br-planned', '6: br-other    inet 10.1.0.1/24 brd 10.1.0.255 scope global br-other'].join('\n');
    const host = new FixtureHost(root, {
      commands: [
        { command: 'ip', args: ['-o', '-4', 'addr', 'show'], stdout: addresses },
        { command: 'ip', args: ['link', 'delete', 'br-planned'] },
        { command: 'ip', args: ['link', 'delete', 'br-other'] },
      ],
    });
    const t = await stepTest({ recorded: recordedHost(), host, steps: ['stop-daemon'] });
    t.ctx.service = { kind: 'command', reason: 'test', startCommand: 'true', stopCommand: 'true', startCommands: ['true'], stopCommands: ['true'] };
    t.ctx.daemonAnswers = async () => false;
    plan(t, { id: 'stop-daemon', commands: ['true'], bridges: ['br-planned'] });
    expect(await t.run('stop-daemon')).toBe('done');
    const deleted = host.calls.filter((c) => c.command === 'ip' && c.args[0] === 'link').map((c) => c.args.join(' '));
    expect(deleted).toEqual(['link delete br-planned']);
    expect(t.said).toContain("Removed the stopped daemon's bridge br-planned (10.1.0.1/24): the next daemon makes its own for that subnet");
  });
});

