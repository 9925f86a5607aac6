import type { RunStore } from '../state/run-store.js';
import type { JournalEntry } from '../state/types.js';

/** Undoes one kind of journalled change; `data` is what the step recorded before acting. */
export type UndoHandler<C> = (ctx: C, data: Record<string, unknown>, entry: JournalEntry) => Promise<void>;

export interface UndoFailure {
  entry: JournalEntry;
  message: string;
}

/**
 * Undoes the journal newest first. A failed undo does not stop the others: it is recorded in
 * the state file and returned, so the operator is told what to do by hand (convert2rhel's
 * users were hurt when a restore failed silently). Entries already undone are skipped, so a
 * rollback that was itself interrupted can be run again.
 */
export async function undoJournal<C>(
  store: RunStore,
  ctx: C,
  handlers: Record<string, UndoHandler<C>>,
  log: (line: string) => void,
  describe: (entry: JournalEntry) => string = (entry) => entry.kind,
): Promise<UndoFailure[]> {
  const failures: UndoFailure[] = [];
  for (const entry of [...store.state.journal].reverse()) {
    if (entry.undoneAt) continue;
    const handler = handlers[entry.kind];
    try {
      if (!handler) throw new Error(`no undo is known for "${entry.kind}"`);
      log(`Undo: ${describe(entry)}…`);
      await handler(ctx, entry.data, entry);
      entry.undoneAt = new Date().toISOString();
      delete entry.undoError;
    } catch (error) {
      entry.undoError = (error as Error).message;
      failures.push({ entry, message: (error as Error).message });
      log(`Could not ${describe(entry)}: ${(error as Error).message}`);
    }
    await store.save();
  }
  return failures;
}
