/** Which blockers `ignoreBlockers` can override. */
import type { ReportEntry } from '../report/entry.js';
import { NOT_WAIVABLE } from '../config/unwaivable-blockers.js';

/** What to do about blockers that stop a run: fix them, or override those that may be overridden. */
export function blockerRemedy(blockers: readonly Pick<ReportEntry, 'key'>[]): string {
  const fixed = blockers.filter((b) => NOT_WAIVABLE.has(b.key)).map((b) => b.key);
  return fixed.length ? `Fix them, then run again (${fixed.join(', ')} cannot be overridden).` : 'Fix them, or name them in ignoreBlockers if you are sure, then run again.';
}

/** The blockers that stop a run: every blocker not named in `ignoreBlockers`, and the unwaivable ones always. */
export function unwaivedBlockers(entries: readonly ReportEntry[], ignoreBlockers: readonly string[]): ReportEntry[] {
  return entries.filter((e) => e.severity === 'blocker' && (NOT_WAIVABLE.has(e.key) || !ignoreBlockers.includes(e.key)));
}
