import { describe, expect, it } from 'vitest';
import { hostStateNow } from '../../../src/cli/commands/status.js';
import type { RunState } from '../../../src/state/types.js';

const ORDER = ['record-inventory', 'save-images', 'stop-containers', 'stop-daemon', 'start-daemon', 'create-containers', 'start-containers', 'verify'];

/** A run whose steps up to `doneUpTo` are done and the next one is `next`. */
function run(status: RunState['status'], doneUpTo: number, next: 'running' | 'failed' | 'pending' = 'running'): RunState {
  const steps = ORDER.map((id, i) => ({ id, title: id, status: i < doneUpTo ? 'done' : i === doneUpTo ? next : 'pending' }));
  return { status, steps } as unknown as RunState;
}

describe('hostStateNow', () => {
  it('says the containers still run before the stop', () => {
    expect(hostStateNow(run('in-progress', 2, 'pending'))).toMatch(/containers still run/);
    expect(hostStateNow(run('in-progress', 2))).toMatch(/some containers may be stopped/);
  });
  it('says the containers are stopped once stopped, Docker still on the original driver', () => {
    expect(hostStateNow(run('in-progress', 3, 'pending'))).toMatch(/containers are stopped \(Docker still runs on the original driver\)/);
  });
  it('says the host is down between the daemon stop and its start', () => {
    expect(hostStateNow(run('failed', 4, 'failed'))).toMatch(/Docker is stopped.*down until you resume or roll back/);
    expect(hostStateNow(run('in-progress', 3))).toMatch(/Docker may be stopping or stopped/);
  });
  it('says Docker is back but the containers are not, during the restore', () => {
    expect(hostStateNow(run('in-progress', 5))).toMatch(/Docker runs on the target driver, but the containers are not all restored/);
  });
  it('knows finished runs', () => {
    expect(hostStateNow(run('completed', 8))).toMatch(/^migrated/);
    expect(hostStateNow(run('rolled-back', 8))).toMatch(/^back as it was/);
  });
});
