/** Which blockers `ignoreBlockers` can override. */
import type { ReportEntry } from '../report/entry.js';
import { DEVICE_BLOCKERS } from './checks/direct-lvm.js';

/**
 * Blockers no answers file can override: ignoring one loses data or the way back, whatever the
 * operator accepts. The direct-lvm device checks (the disk would be wiped, or is not one the run
 * can build on, or holds the current pool), run files inside the data-root (moved away with
 * it at the cutover, so no rollback could find them), and running --rm containers (deleted by
 * the stop). An answers file that names one is refused.
 */
export const NOT_WAIVABLE: ReadonlySet<string> = new Set([...DEVICE_BLOCKERS, 'state-dir-inside-data-root', 'backup-dir-inside-data-root', 'containers-auto-remove']);

/** What to do about blockers that stop a run: fix them, or override those that may be overridden. */
export function blockerRemedy(blockers: readonly Pick<ReportEntry, 'key'>[]): string {
  const fixed = blockers.filter((b) => NOT_WAIVABLE.has(b.key)).map((b) => b.key);
  return fixed.length ? `Fix them, then run again (${fixed.join(', ')} cannot be overridden).` : 'Fix them, or name them in ignoreBlockers if you are sure, then run again.';
}

/** The blockers that stop a run: every blocker not named in `ignoreBlockers`, and the unwaivable ones always. */
export function unwaivedBlockers(entries: readonly ReportEntry[], ignoreBlockers: readonly string[]): ReportEntry[] {
  return entries.filter((e) => e.severity === 'blocker' && (NOT_WAIVABLE.has(e.key) || !ignoreBlockers.includes(e.key)));
}
