// Rescue mode (source.dockerd): which daemon a run talks to when, what rollback says, and what
// the undo descriptions claim for the side daemon's entries.
import { afterEach, describe, expect, it } from 'vitest';
import { meantToRun } from '../../../src/cli/commands/run.js';
import type { Inventory } from '../../../src/docker/types.js';
import { describeUndo } from '../../../src/steps/undo-descriptions.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { rollBack } from '../../../src/run/execute.js';
import { recorded as recordedHost } from '../verify/helpers.js';
import { removeStepDirs, stepTest } from './step-context.js';
import { RESCUE_NOTE, STARTED_SIDE_DAEMON, rescueRollbackWords, runDockerHost, sideDaemonServes, type RescueNote } from '../../../src/steps/rescue.js';
import type { RunState } from '../../../src/state/types.js';

const NOTE: RescueNote = {
  spec: {
    name: 'source',
    runId: '20261207-063000-ab12',
    runtimeDir: '/run/devmapper-migrate/20261207-063000-ab12',
    dockerd: '/root/dockerd-20.10',
    dataRoot: '/var/lib/docker',
    storageDriver: 'devicemapper',
    storageOpts: ['dm.override_udev_sync_check=true'],
  },
  dockerHost: 'unix:///run/devmapper-migrate/20261207-063000-ab12/source/docker.sock',
  legacyVersion: '20.10.24+dfsg1',
  installed: { path: '/usr/sbin/dockerd', version: '26.1.5+dfsg1', wasRunning: false },
};

function storeWith(stopDaemon: 'pending' | 'running' | 'done', journal: RunState['journal'] = [], rescue: RescueNote | null = NOTE) {
  return {
    state: {
      notes: rescue ? { [RESCUE_NOTE]: rescue } : {},
      steps: [{ id: 'stop-daemon', title: 'Stop', status: stopDaemon, attempts: 0 }],
      journal,
    } as unknown as RunState,
  };
}

describe('which daemon a rescue-mode run talks to', () => {
  it('the side daemon until stop-daemon stops it, the installed engine after; an ordinary run always the installed one', () => {
    const installed = 'unix:///var/run/docker.sock';
    expect(runDockerHost(storeWith('pending'), installed)()).toBe(NOTE.dockerHost);
    expect(sideDaemonServes(storeWith('pending'))).toBe(true);
    // stop-daemon journalled its stop: from then on the side daemon may be gone.
    const stopping = storeWith('running', [{ seq: 2, at: '', stepId: 'stop-daemon', kind: 'stopped-daemon', data: { manager: 'side-daemon', side: true } }]);
    expect(runDockerHost(stopping, installed)()).toBe(installed);
    expect(runDockerHost(storeWith('done'), installed)()).toBe(installed);
    expect(runDockerHost(storeWith('pending', [], null), installed)()).toBe(installed);
  });

  it('is read at each call: the same resolver follows the run', () => {
    const store = storeWith('pending');
    const current = runDockerHost(store, 'unix:///var/run/docker.sock');
    expect(current()).toBe(NOTE.dockerHost);
    store.state.steps[0]!.status = 'done';
    expect(current()).toBe('unix:///var/run/docker.sock');
  });
});

describe("a rolled-back rescue-mode run's words", () => {
  it('say the data is back, the installed engine is left as it was and not started, and the two ways on', () => {
    expect(rescueRollbackWords('R1', NOTE, { dataRoot: '/var/lib/docker', configPath: '/etc/docker/daemon.json' })).toBe(
      [
        'Run R1 (rescue mode) is rolled back: the data is back in place. /var/lib/docker holds the devicemapper data again and /etc/docker/daemon.json is as it was before the run.',
        'Docker 26.1.5+dfsg1 (/usr/sbin/dockerd) was left as it was: it did not start when the run began, and it is not started now: it cannot start on devicemapper. No Docker daemon runs on this host now, and the legacy dockerd /root/dockerd-20.10 (20.10.24+dfsg1) was stopped.',
        'Two ways on:',
        '  1. Install an engine older than 25 (the one this host ran before, e.g. 20.10.24+dfsg1; at most 24.x) and hold it there, then start Docker: everything is there as before the run. Migrate then with `devmapper-migrate run`, and upgrade after.',
        '  2. Or run again in rescue mode: `devmapper-migrate run --answers FILE` with `source.dockerd: /root/dockerd-20.10` in the answers.',
      ].join('\n'),
    );
  });

  it('say why an engine that ran on an empty overlay2 is not started again', () => {
    const words = rescueRollbackWords('R1', { ...NOTE, installed: { ...NOTE.installed, wasRunning: true } }, { dataRoot: '/var/lib/docker', configPath: '/etc/docker/daemon.json' });
    expect(words).toContain('it ran on an empty overlay2 beside the devicemapper data when the run began and was stopped by the run; it is not started again');
  });
});

describe("the undo descriptions of a rescue's entries", () => {
  it('claim no start of a daemon or of containers on the devicemapper data', () => {
    expect(describeUndo({ kind: 'stopped-daemon', data: { side: true } })).toBe('nothing for the legacy dockerd the run stopped (rescue mode): no daemon is started on the devicemapper data');
    expect(describeUndo({ kind: 'stopped-containers', data: { names: ['web'], side: true } })).toMatch(/^nothing for the containers the legacy dockerd stopped/);
    expect(describeUndo({ kind: 'started-side-daemon', data: { dir: '/run/devmapper-migrate/R1/source' } })).toBe(
      'stop the legacy dockerd the run started (rescue mode) by its pid file, when it runs, and remove its directory /run/devmapper-migrate/R1/source',
    );
    // An ordinary run's words are unchanged.
    expect(describeUndo({ kind: 'stopped-daemon', data: {} })).toBe('start Docker again on the original driver');
  });
});

describe('containers the side daemon reads', () => {
  it('are recorded as meant to run when their restart policy is always or unless-stopped', () => {
    const container = (name: string, running: boolean, policy: string) => ({ name, running, state: running ? 'running' : 'exited', restartPolicy: { name: policy, maximumRetryCount: 0 } });
    const inventory = {
      containers: [container('web', false, 'unless-stopped'), container('db', false, 'always'), container('job', false, 'no'), container('retry', false, 'on-failure'), container('up', true, 'no')],
    } as unknown as Inventory;
    expect(meantToRun(inventory).containers.map((c) => `${c.name}:${c.state}:${c.running}`)).toEqual([
      'web:running:true',
      'db:running:true',
      'job:exited:false',
      'retry:exited:false',
      'up:running:true',
    ]);
  });
});

describe('rollback of a rescue-mode run (after stop-daemon stopped the side daemon)', () => {
  afterEach(removeStepDirs);

  it('stops the side daemon by its pid file, starts nothing on the data, verifies nothing, and ends with the words', async () => {
    const host = new FixtureHost('/nonexistent', { commands: [{ command: 'sh' }, { command: 'rm' }] });
    const t = await stepTest({ recorded: recordedHost(), host, steps: ['record-inventory', 'stop-containers', 'stop-daemon'] });
    await t.store.setNote(RESCUE_NOTE, NOTE);
    await t.store.journal('record-inventory', STARTED_SIDE_DAEMON, { dir: '/run/devmapper-migrate/R1/source' });
    await t.store.journal('stop-containers', 'stopped-containers', { names: ['web'], side: true });
    await t.store.journal('stop-daemon', 'stopped-daemon', { manager: 'side-daemon', side: true });
    await t.store.updateStep('stop-daemon', { status: 'done' });
    t.ctx.daemonAnswers = async () => false;
    const told: string[] = [];
    const outcome = await rollBack(t.ctx, { tell: (text) => void told.push(text), log: { line: () => undefined } as never });
    expect(outcome.failures).toEqual([]);
    expect(outcome.verify).toBeUndefined();
    expect(outcome.rescueWords).toBe(rescueRollbackWords(t.store.runId, NOTE, t.ctx.daemon));
    expect(t.store.state.status).toBe('rolled-back');
    // No container started, no daemon started: only the side daemon's stop line and the removal of its directory.
    expect(t.docker.calls.filter((call) => /start/.test(call))).toEqual([]);
    expect(host.calls.map((c) => c.command)).toEqual(['sh', 'rm']);
    expect(host.calls[0]!.args.join(' ')).toContain(`cat ${NOTE.spec.runtimeDir}/source/docker.pid`);
    expect(host.calls[1]!.args).toEqual(['-rf', '--one-file-system', '--', `${NOTE.spec.runtimeDir}/source`]);
  });
});
