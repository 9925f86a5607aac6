/**
 * Preflight's blocker keys that the answers file must know about: it refuses to waive these.
 * They live here, below preflight, because the answers are checked before any check runs.
 */

/** The direct-lvm device check's blockers: each means a disk wiped or no disk the run can build on. */
export const DEVICE_BLOCKERS = [
  'target-device-not-given',
  'lvm-tools-missing',
  'target-device-not-found',
  'target-device-not-block-device',
  'target-device-mounted',
  'target-device-held',
  'target-device-in-current-pool',
  'target-device-in-volume-group',
  'target-device-has-signature',
] as const;

/**
 * Blockers no answers file can override: ignoring one loses data or the way back, whatever the
 * operator accepts. The direct-lvm device checks (the disk would be wiped, or is not one the run
 * can build on, or holds the current pool), run files inside the data-root (moved away with
 * it at the cutover, so no rollback could find them), running --rm containers (deleted by
 * the stop), and devicemapper data the daemon does not see (a run would leave it behind). An
 * answers file that names one is refused.
 */
export const NOT_WAIVABLE: ReadonlySet<string> = new Set([...DEVICE_BLOCKERS, 'state-dir-inside-data-root', 'backup-dir-inside-data-root', 'containers-auto-remove', 'devicemapper-data-not-in-use']);
