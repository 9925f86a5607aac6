/** Which blockers `ignoreBlockers` can override. */
import type { ReportEntry } from '../report/entry.js';
import { DEVICE_BLOCKERS } from './checks/direct-lvm.js';

/**
 * Blockers no answers file can override: ignoring one loses data or the way back, whatever the
 * operator accepts. The direct-lvm device checks (the disk would be wiped, or is not one the run
 * can build on, or holds the current pool), run files inside the data-root (moved away with
 * it at the cutover, so no rollback could find them), running --rm containers (deleted by
 * the stop), and devicemapper data the daemon does not see (a run would leave it behind). An answers file that names one is refused.
 */
export const NOT_WAIVABLE: ReadonlySet<string> = new Set([...DEVICE_BLOCKERS, 'state-dir-inside-data-root', 'backup-dir-inside-data-root', 'containers-auto-remove', 'devicemapper-data-not-in-use']);

/** The blockers that stop a run: every blocker not named in `ignoreBlockers`, and the unwaivable ones always. */
export function unwaivedBlockers(entries: readonly ReportEntry[], ignoreBlockers: readonly string[]): ReportEntry[] {
  return entries.filter((e) => e.severity === 'blocker' && (NOT_WAIVABLE.has(e.key) || !ignoreBlockers.includes(e.key)));
}
