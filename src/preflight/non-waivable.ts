/**
 * Blockers that `ignoreBlockers` cannot override: the direct-lvm device checks. Each says the
 * device would be destroyed, or is not one the run can build on; overriding one loses data or
 * the way back (the current pool). An answers file that names one is refused (exit 2).
 */
export const NON_WAIVABLE_BLOCKERS: readonly string[] = [
  'target-device-not-given',
  'lvm-tools-missing',
  'target-device-not-found',
  'target-device-not-block-device',
  'target-device-mounted',
  'target-device-held',
  'target-device-in-current-pool',
  'target-device-in-volume-group',
  'target-device-has-signature',
];
