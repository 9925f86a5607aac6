/** Which blockers `ignoreBlockers` can override. */
import type { ReportEntry } from '../report/entry.js';
import { NOT_WAIVABLE } from '../config/unwaivable-blockers.js';

/** The blockers that stop a run: every blocker not named in `ignoreBlockers`, and the unwaivable ones always. */
export function unwaivedBlockers(entries: readonly ReportEntry[], ignoreBlockers: readonly string[]): ReportEntry[] {
  return entries.filter((e) => e.severity === 'blocker' && (NOT_WAIVABLE.has(e.key) || !ignoreBlockers.includes(e.key)));
}
