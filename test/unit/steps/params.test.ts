import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/errors.js';
import { stepActions, type PlannedStep } from '../../../src/plan/plan.js';
import { paramsOf } from '../../../src/steps/params.js';

const store = { runId: '20261207-000000-abcd' };
const stop: PlannedStep = {
  id: 'stop-containers', phase: 'quiesce', title: 'Stop', downtime: true,
  params: { id: 'stop-containers', waves: [['web'], ['db']], leftOut: [], unpause: [] },
  actions: stepActions({ id: 'stop-containers', waves: [['web'], ['db']], leftOut: [], unpause: [] }),
};

describe('a step’s parameters, from plan.json', () => {
  it('are the plan’s, typed by the step id', () => {
    expect(paramsOf({ plan: { steps: [stop] }, store }, 'stop-containers').waves).toEqual([['web'], ['db']]);
  });

  it('are refused, naming the run and the way out, when plan.json was written before steps had them', () => {
    const old = { ...stop, params: undefined } as unknown as PlannedStep;
    const read = () => paramsOf({ plan: { steps: [old] }, store }, 'stop-containers');
    expect(read).toThrow(OperatorError);
    expect(read).toThrow(/run 20261207-000000-abcd .* no parameters for step stop-containers/);
  });

  it('print rewrite-config as the step executes it: a vendor unit through a drop-in, the thin pool for devicemapper', () => {
    const actions = stepActions({
      id: 'rewrite-config', configPath: '/etc/docker/daemon.json', backupDir: '/state/runs/r1/config-backup/', driver: 'devicemapper',
      flagEdits: [{ path: '/usr/lib/systemd/system/docker.service', kind: 'systemd-unit', removes: ['--storage-driver=devicemapper'] }],
    });
    expect(actions).toEqual([
      'copy /etc/docker/daemon.json → /state/runs/r1/config-backup/',
      'write /etc/docker/daemon.json: storage-driver devicemapper (dm.thinpooldev), no dm.* options',
      'edit /usr/lib/systemd/system/docker.service (through a drop-in): remove --storage-driver=devicemapper',
    ]);
  });
});
