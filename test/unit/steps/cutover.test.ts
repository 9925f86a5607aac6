// The cutover steps that execute from their plan parameters (plan.json), against a fixture host:
// what they edit is what the plan names, not what the run's context would derive again.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import type { StepParams } from '../../../src/plan/plan.js';
import { recorded as recordedHost } from '../verify/helpers.js';
import { removeStepDirs, stepTest, type StepTest } from './step-context.js';

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
