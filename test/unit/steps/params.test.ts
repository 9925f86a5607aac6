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
});
