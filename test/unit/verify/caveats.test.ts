// The run's caveats in its report: files deleted in a writable layer come back after the
// restore, and the report says so for each container (as warnings, not differences); stopped
// containers come back never started ("Created"), and the report notes that once.
import { describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../../../src/docker/types.js';
import { containerLogsCaveat, DOWNTIME_ESTIMATE_NOTE, measuredDowntime, runCaveats, stoppedContainerCaveats, withCaveats, writableLayerCaveats } from '../../../src/verify/caveats.js';
import type { StepRecord } from '../../../src/state/types.js';
import type { VerifyResult } from '../../../src/verify/types.js';

describe('writableLayerCaveats', () => {
  it('names each container with deleted paths, and only those', () => {
    const entries = writableLayerCaveats({
      'layer:web': { details: { file: 'web.tar', added: 2, changed: 1, deleted: ['/etc/issue', '/usr/bin/wc'] } },
      'layer:db': { details: { file: 'db.tar', added: 0, changed: 0, deleted: [] } },
      'image:sha256:abc': { details: { deleted: ['/not/a/layer'] } },
      'volume:data': { details: { file: 'data.tar' } },
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      key: 'writable-layer-deletion-not-kept',
      severity: 'warning',
      title: 'Files deleted inside web are back',
      details: { container: 'web', deleted: ['/etc/issue', '/usr/bin/wc'] },
    });
    expect(entries[0]!.summary).toContain('2 path(s)');
    expect(entries[0]!.summary).toContain('/etc/issue, /usr/bin/wc.');
  });

  it('names the first 20 paths and counts the rest', () => {
    const deleted = Array.from({ length: 25 }, (_, i) => `/f${i}`);
    const [entry] = writableLayerCaveats({ 'layer:big': { details: { deleted } } });
    expect(entry!.summary).toContain('/f19 and 5 more.');
    expect(entry!.summary).not.toContain('/f20');
    expect(entry!.details).toEqual({ container: 'big', deleted });
  });
});

describe('withCaveats', () => {
  const result: VerifyResult = {
    checkedAt: '2026-12-06T10:00:00Z',
    expect: { driver: 'overlay2', configMustBeClean: true },
    entries: [
      { key: 'summary', severity: 'info', title: 'i', summary: 's' },
      { key: 'difference', severity: 'blocker', title: 'b', summary: 's' },
    ],
    differences: 1,
    checked: { images: 0, tags: 0, containers: 0, networks: 0, volumes: 0, volumeTrees: 0, volumeEntries: 0, configFiles: 0 },
  };

  it('puts the caveats after the differences and before the information, leaving the count alone', () => {
    const caveat = { key: 'writable-layer-deletion-not-kept', severity: 'warning' as const, title: 't', summary: 's' };
    const merged = withCaveats(result, [caveat]);
    expect(merged.entries.map((e) => e.key)).toEqual(['difference', 'writable-layer-deletion-not-kept', 'summary']);
    expect(merged.differences).toBe(1);
    expect(withCaveats(result, [])).toBe(result);
  });
});

describe('stoppedContainerCaveats', () => {
  const container = (name: string, state: string) => ({ name, state }) as unknown as ContainerRecord;
  it('one info entry naming the containers that had stopped (exited or dead), not running or never started ones', () => {
    const entries = stoppedContainerCaveats([container('web', 'running'), container('old', 'exited'), container('idle', 'created'), container('gone', 'dead')]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ key: 'stopped-container-shows-created', severity: 'info', details: { containers: ['old', 'gone'] } });
    expect(entries[0]!.summary).toContain('2 container(s)');
    expect(entries[0]!.summary).toContain(': old, gone.');
  });
  it('nothing when no container had stopped', () => {
    expect(stoppedContainerCaveats([container('web', 'running'), container('idle', 'created')])).toEqual([]);
  });
  it("says the containers' logs were not carried, naming each old ID, and nothing without containers", () => {
    const web = { name: 'web', id: 'abc123', state: 'running' } as unknown as ContainerRecord;
    const [entry] = containerLogsCaveat([web]);
    expect(entry).toMatchObject({ key: 'container-logs-not-carried', severity: 'info', details: { containers: [{ name: 'web', oldId: 'abc123' }] } });
    expect(entry!.summary).toContain('`docker logs` of each starts empty');
    expect(entry!.summary).toContain("kept data-root's containers/<old id>/ directory until finalize");
    expect(containerLogsCaveat([])).toEqual([]);
  });
  it('runCaveats gives every kind', () => {
    const steps = [step('stop-containers', '2026-12-07T01:00:00.000Z', '2026-12-07T01:00:05.000Z'), step('start-containers', '2026-12-07T01:00:20.000Z', '2026-12-07T01:00:23.500Z')];
    const state = { units: { 'layer:web': { details: { deleted: ['/x'] } } }, steps, notes: { [DOWNTIME_ESTIMATE_NOTE]: 30 } };
    const keys = runCaveats(state as never, [container('old', 'exited')]).map((e) => e.key);
    expect(keys).toEqual(['writable-layer-deletion-not-kept', 'stopped-container-shows-created', 'container-logs-not-carried', 'downtime-measured']);
  });
});

function step(id: string, startedAt: string, endedAt: string, status: StepRecord['status'] = 'done'): StepRecord {
  return { id, title: id, status, startedAt, endedAt, attempts: 1 };
}

describe('measuredDowntime', () => {
  it('measures from the containers\' stop to their start, beside the estimate', () => {
    const [entry] = measuredDowntime([step('stop-containers', '2026-12-07T01:00:00.000Z', '2026-12-07T01:00:05.000Z'), step('start-containers', '2026-12-07T01:00:20.000Z', '2026-12-07T01:00:23.500Z')], 30);
    expect(entry).toMatchObject({ key: 'downtime-measured', severity: 'info', details: { seconds: 23.5, estimateSeconds: 30 } });
    expect(entry!.title).toBe('Downtime: 24 s (estimated about 30 s)');
  });
  it('says nothing before the containers are started again', () => {
    expect(measuredDowntime([step('stop-containers', '2026-12-07T01:00:00.000Z', '2026-12-07T01:00:05.000Z'), step('start-containers', '2026-12-07T01:00:20.000Z', '', 'running')], 30)).toEqual([]);
  });
});
