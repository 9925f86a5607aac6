/** Which blockers `ignoreBlockers` can override. */
import type { ReportEntry } from '../report/entry.js';

/**
 * Blockers no answers file can override: ignoring them loses data or the way back, whatever
 * the operator accepts.
 */
export const NOT_WAIVABLE: ReadonlySet<string> = new Set(['state-dir-inside-data-root', 'backup-dir-inside-data-root']);

/** The blockers that stop a run: every blocker not named in `ignoreBlockers`, and the unwaivable ones always. */
export function unwaivedBlockers(entries: readonly ReportEntry[], ignoreBlockers: readonly string[]): ReportEntry[] {
  return entries.filter((e) => e.severity === 'blocker' && (NOT_WAIVABLE.has(e.key) || !ignoreBlockers.includes(e.key)));
}
