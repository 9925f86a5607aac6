// The rollback guard reads the release that removed a driver from preflight's table of engine
// removals: changing the table's row changes the guard, so the two cannot disagree.
import { describe, expect, it, vi } from 'vitest';
import { driverWasRemoved, engineRefusesRollback } from '../../../src/run/engine-guard.js';

vi.mock('../../../src/preflight/engine-removals.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/preflight/engine-removals.js')>();
  // A table in which devicemapper went in 26.0 and btrfs in 30.0 (not real: only this table says so).
  const rows = actual.ENGINE_REMOVALS.map((row) => (row.storageDriver === 'devicemapper' ? { ...row, removedIn: '26.0' } : row));
  rows.push({ id: 'btrfs', feature: 'btrfs storage driver', removedIn: '30.0', confirmed: true, effect: 'refuses-to-start', storageDriver: 'btrfs', source: 'x', fix: 'x' });
  return { ...actual, ENGINE_REMOVALS: rows };
});

const run = { runId: '20261201-000000-aaaa', targetDriver: 'overlay2', sourceVersion: '20.10.24' };

describe('the rollback guard follows the table of engine removals', () => {
  it('takes the removal release of devicemapper from the table', () => {
    const subject = { ...run, sourceDriver: 'devicemapper' };
    expect(engineRefusesRollback(subject, [{ version: '25.0.3', state: 'running' }])).toBeUndefined();
    expect(engineRefusesRollback(subject, [{ version: '26.1.5', state: 'running' }])?.message).toContain('Engine v26 and newer cannot start on it');
  });

  it('knows a driver only the table names', () => {
    expect(driverWasRemoved('btrfs')).toBe(true);
    expect(engineRefusesRollback({ ...run, sourceDriver: 'btrfs' }, [{ version: '30.0.0', state: 'installed', path: '/usr/bin/dockerd' }])?.message).toContain('Engine v30');
    expect(driverWasRemoved('overlay2')).toBe(false);
  });
});
