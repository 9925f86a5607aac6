/**
 * Each journalled change's undo in the operator's words, for rollback's confirmation, its log
 * and its failure report ("undo #5 edited-file" told them nothing). A kind without a
 * description here still shows, by its journal name.
 */
import type { JournalEntry } from '../state/types.js';

type Describe = (data: Record<string, unknown>) => string;

const text = (value: unknown, fallback: string): string => (typeof value === 'string' && value ? value : fallback);

const UNDO_DESCRIPTIONS: Record<string, Describe> = {
  'started-target-daemon': () => 'stop Docker on the target driver',
  'built-thin-pool': (d) => `remove the thin pool the run built (${text(d.vg, '?')}/${text(d.pool, '?')}) and free ${text(d.device, 'its device')}`,
  'edited-file': (d) => (d.backup === null ? `delete ${text(d.path, 'a file')}, which the run created` : `put ${text(d.path, 'a file')} back as it was`),
  'carried-volumes': (d) => `carry the volumes back to ${text(d.from, 'the original data-root')}, with what was written to them since`,
  'kept-data-root': (d) => `move the original data-root back into place at ${text(d.path, 'its path')} (the new one is kept aside, not deleted)`,
  'stopped-daemon': (d) => (d.side === true ? 'nothing for the legacy dockerd the run stopped (rescue mode): no daemon is started on the devicemapper data' : 'start Docker again on the original driver'),
  'started-side-daemon': (d) => `stop the legacy dockerd the run started (rescue mode) by its pid file, when it runs, and remove its directory${typeof d.dir === 'string' ? ` ${d.dir}` : ''}`,
  'staged-root': (d) => `stop the private dockerd that staged the images (by its pid file) and remove ${text(d.stagedRoot, 'the staged data-root')} (unless the cutover put it in place) and ${text(d.runtimeDir, 'its runtime directory')}`,
  'placed-staged-root': (d) => `take the staged data-root back to ${text(d.from, 'where it was staged')} unless Docker already ran on it (then it is kept aside with the new data-root)`,
  'unpaused-containers': (d) => {
    if (d.side === true) return 'nothing for the containers the legacy dockerd unpaused (rescue mode): they stay in its data';
    const names = Array.isArray(d.names) ? (d.names as unknown[]).map(String) : [];
    return `pause again the container(s) that were paused: ${names.join(', ')}`;
  },
  'stopped-containers': (d) => {
    if (d.side === true) return 'nothing for the containers the legacy dockerd stopped (rescue mode): they stay in its data, as they were';
    const names = Array.isArray(d.names) ? (d.names as unknown[]).map(String) : [];
    return names.length ? `start again the container(s) that ran: ${names.join(', ')}` : 'start again the containers that ran';
  },
};

/** "put /etc/docker/daemon.json back as it was" for one journal entry. */
export function describeUndo(entry: Pick<JournalEntry, 'kind' | 'data'>): string {
  const describe = UNDO_DESCRIPTIONS[entry.kind];
  return describe ? describe(entry.data) : `undo "${entry.kind}"`;
}

/** The run's changes still to undo, newest first, numbered as the rollback will take them. */
export function describeOpenUndos(journal: readonly JournalEntry[]): string[] {
  return journal
    .filter((e) => !e.undoneAt)
    .reverse()
    .map((e, i) => `${i + 1}. ${describeUndo(e)}`);
}
