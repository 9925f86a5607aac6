// Issue 18: what preflight promises of the rewrite-config step, shown on the files the step
// leaves behind (not on the step's texts): the daemon.json byte order mark goes, storage flags
// leave the service files with a copy a rollback puts back, docker-storage-setup is told to
// configure nothing, and a 17.03 engine on a 3.10
// kernel gets overlay2.override_kernel_check in daemon.json.
import { afterEach, describe, expect, it } from 'vitest';
import type { FixtureHost } from '../../../src/host/fixture-host.js';
import { UNDO_HANDLERS } from '../../../src/steps/undo-handlers.js';
import { undoJournal } from '../../../src/steps/undo.js';
import { recorded as recordedHost } from '../verify/helpers.js';
import type { PlannedFlagEdit } from '../../../src/plan/plan.js';
import { removeStepDirs, stepTest, type StepTest } from './step-context.js';

afterEach(removeStepDirs);

const DAEMON_JSON = '/etc/docker/daemon.json';
const SYSCONFIG = '/etc/sysconfig/docker';

/** The flag files the plan's rewrite-config step edits (as run.ts plans them from preflight's facts). */
function planFlagEdits(t: StepTest, flagEdits: PlannedFlagEdit[]): void {
  const step = t.ctx.plan.steps.find((s) => s.id === 'rewrite-config')!;
  if (step.params?.id === 'rewrite-config') step.params.flagEdits = flagEdits;
}

async function rewriteConfigTest(files: Record<string, string>, engine?: { serverVersion: string; kernelVersion: string }) {
  const recorded = recordedHost();
  if (engine) recorded.inventory.daemon.kernelVersion = engine.kernelVersion;
  const t = await stepTest({ recorded, steps: ['rewrite-config'] });
  if (engine) t.ctx.daemon.serverVersion = engine.serverVersion;
  const host = t.ctx.host as FixtureHost;
  for (const [file, text] of Object.entries(files)) {
    await host.mkdir(file.slice(0, file.lastIndexOf('/')), { mode: 0o755 });
    await host.writeFile(file, text, { mode: 0o644 });
  }
  return { ...t, host };
}

describe('rewrite-config keeps what preflight promises', () => {
  it('writes daemon.json back without its UTF-8 byte order mark (config.ts: daemon-json-bom)', async () => {
    const t = await rewriteConfigTest({ [DAEMON_JSON]: '\uFEFF{"debug": true}\n' });
    await t.run('rewrite-config');
    const text = (await t.host.readFile(DAEMON_JSON))!;
    expect(text.charCodeAt(0)).toBe('{'.charCodeAt(0));
    expect(JSON.parse(text)).toEqual({ debug: true, 'storage-driver': 'overlay2' });
  });

  it('removes the storage flags from a service file, keeping a copy that a rollback puts back (config.ts: storage-flag-conflict)', async () => {
    const original = 'OPTIONS="--selinux-enabled --storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/docker-thinpool"\n';
    const t = await rewriteConfigTest({ [SYSCONFIG]: original, [DAEMON_JSON]: '{}\n' });
    planFlagEdits(t, [{ path: SYSCONFIG, kind: 'environment-file', variable: 'OPTIONS', removes: ['--storage-driver devicemapper', '--storage-opt dm.thinpooldev=/dev/mapper/docker-thinpool'] }]);
    await t.run('rewrite-config');
    t.ctx.daemonAnswers = async () => false; // stopped for the cutover, as a rollback finds it
    const edited = (await t.host.readFile(SYSCONFIG))!;
    expect(edited).toContain('--selinux-enabled');
    expect(edited).not.toMatch(/--storage-(driver|opt)|dm\.thinpooldev/);
    expect(await undoJournal(t.store, t.ctx, UNDO_HANDLERS, () => undefined)).toEqual([]);
    expect(await t.host.readFile(SYSCONFIG)).toBe(original);
  });

  it('sets STORAGE_DRIVER="" in docker-storage-setup\'s file, creating it, and a rollback removes it again (config.ts: docker-storage-setup)', async () => {
    const file = '/etc/sysconfig/docker-storage-setup';
    const t = await rewriteConfigTest({ [DAEMON_JSON]: '{}\n' });
    planFlagEdits(t, [{ path: file, kind: 'storage-setup', removes: ['STORAGE_DRIVER (default devicemapper)'] }]);
    await t.run('rewrite-config');
    expect(await t.host.readFile(file)).toMatch(/^STORAGE_DRIVER=""$/m);
    t.ctx.daemonAnswers = async () => false;
    expect(await undoJournal(t.store, t.ctx, UNDO_HANDLERS, () => undefined)).toEqual([]);
    expect(await t.host.readFile(file)).toBeUndefined();
  });

  it('writes overlay2.override_kernel_check into storage-opts for Docker 17.03 on kernel 3.10, and not for a newer engine (overlay2.ts)', async () => {
    const old = await rewriteConfigTest({ [DAEMON_JSON]: '{}\n' }, { serverVersion: '17.03.2-ce', kernelVersion: '3.10.0-1160.el7.x86_64' });
    await old.run('rewrite-config');
    expect(JSON.parse((await old.host.readFile(DAEMON_JSON))!)).toEqual({ 'storage-driver': 'overlay2', 'storage-opts': ['overlay2.override_kernel_check=true'] });
    const current = await rewriteConfigTest({ [DAEMON_JSON]: '{}\n' }, { serverVersion: '18.09.9', kernelVersion: '3.10.0-1160.el7.x86_64' });
    await current.run('rewrite-config');
    expect(JSON.parse((await current.host.readFile(DAEMON_JSON))!)).toEqual({ 'storage-driver': 'overlay2' });
  });
});
