import { describe, expect, it } from 'vitest';
import { describeOpenUndos, describeUndo } from '../../../src/steps/undo-descriptions.js';
import type { JournalEntry } from '../../../src/state/types.js';

const entry = (seq: number, kind: string, data: Record<string, unknown> = {}, undoneAt?: string): JournalEntry => ({ seq, at: '', stepId: 's', kind, data, undoneAt });

describe('undo in plain words', () => {
  it('names the file, the pool and the containers', () => {
    expect(describeUndo(entry(1, 'edited-file', { path: '/etc/docker/daemon.json', backup: '/x', mode: 0o644 }))).toBe('put /etc/docker/daemon.json back as it was');
    expect(describeUndo(entry(1, 'edited-file', { path: '/etc/systemd/system/docker.service.d/x.conf', backup: null, mode: 0o644 }))).toMatch(/^delete .*x\.conf, which the run created$/);
    expect(describeUndo(entry(1, 'built-thin-pool', { vg: 'vg1', pool: 'tp', device: '/dev/sdb' }))).toBe('remove the thin pool the run built (vg1/tp) and free /dev/sdb');
    expect(describeUndo(entry(1, 'stopped-containers', { names: ['db', 'app'] }))).toBe('start again the container(s) that ran: db, app');
  });

  it('still shows a kind it does not know, by its journal name', () => {
    expect(describeUndo(entry(1, 'tagged-image'))).toBe('undo "tagged-image"');
  });

  it('lists what is still open, newest first', () => {
    const journal = [entry(1, 'stopped-containers', { names: ['a'] }), entry(2, 'stopped-daemon'), entry(3, 'started-target-daemon', {}, 'done')];
    expect(describeOpenUndos(journal)).toEqual(['1. start Docker again on the original driver', '2. start again the container(s) that ran: a']);
  });
});
