import type { JournalEntry } from '../state/types.js';
import type { MigrationContext } from './context.js';

/** The step's journal entry of this kind that is not undone, if it recorded one (a resumed step). */
export function journalled(ctx: Pick<MigrationContext, 'store'>, stepId: string, kind: string): JournalEntry | undefined {
  return ctx.store.state.journal.find((entry) => entry.stepId === stepId && entry.kind === kind && !entry.undoneAt);
}

/** Journals a change before it is made, once: a resumed step finds its entry and does not add another. */
export async function journalOnce(ctx: Pick<MigrationContext, 'store'>, stepId: string, kind: string, data: Record<string, unknown>): Promise<JournalEntry> {
  return journalled(ctx, stepId, kind) ?? ctx.store.journal(stepId, kind, data);
}
