/**
 * Preflight's pure half: PreflightFacts (and the answers that matter) in, report entries out,
 * blockers first. Each check is small, named, and owns stable keys (see CHECKS).
 */
import { sortEntries, type ReportEntry } from '../report/entry.js';
import type { PreflightFacts } from '../facts/types.js';
import { analyse } from './analysis.js';
import { downtimeCheck } from './checks/downtime.js';
import { ENGINE_READINESS_CHECKS } from './checks/engine-readiness.js';
import { daemonDownCheck, strandedDevicemapperCheck } from './checks/engine-state.js';
import { directLvmCheck } from './checks/direct-lvm.js';
import { poolSpaceCheck, sourceDriverCheck } from './checks/driver.js';
import { daemonJsonCheck, dockerdProcessCheck, dockerLatestCheck, storageFlagsCheck, storageSetupCheck } from './checks/config.js';
import { backingFsCheck, baseSizeCheck, kernelCheck, mixedDriversCheck } from './checks/overlay2.js';
import { pluginsCheck } from './checks/plugins.js';
import { spaceCheck } from './checks/space.js';
import { runFilesPlaceCheck } from './checks/run-files-place.js';
import { versionCheck } from './checks/version.js';
import {
  containerStateCheck,
  containerWiringCheck,
  factsProblemsCheck,
  liveRestoreCheck,
  swarmCheck,
  volumeCheck,
} from './checks/workload.js';
import type { Check } from './entry.js';
import { resolvePreflightOptions, type PreflightOptions } from './options.js';

export type { Check } from './entry.js';
export { resolvePreflightOptions, type PreflightOptions } from './options.js';

/** Every check, in the order their entries appear within a severity. */
export const CHECKS: readonly Check[] = [
  daemonDownCheck,
  strandedDevicemapperCheck,
  dockerdProcessCheck,
  sourceDriverCheck,
  versionCheck,
  poolSpaceCheck,
  daemonJsonCheck,
  storageFlagsCheck,
  storageSetupCheck,
  dockerLatestCheck,
  mixedDriversCheck,
  kernelCheck,
  backingFsCheck,
  baseSizeCheck,
  spaceCheck,
  runFilesPlaceCheck,
  directLvmCheck,
  swarmCheck,
  liveRestoreCheck,
  containerStateCheck,
  containerWiringCheck,
  volumeCheck,
  ...ENGINE_READINESS_CHECKS,
  pluginsCheck,
  downtimeCheck,
  factsProblemsCheck,
];

/**
 * The checks that judge the host's files alone, for a daemon that does not answer: the others
 * would read its empty stand-in facts as "no images, no driver".
 */
export const HOST_ONLY_CHECKS: readonly Check[] = [
  daemonDownCheck,
  daemonJsonCheck,
  storageFlagsCheck,
  storageSetupCheck,
  kernelCheck,
  backingFsCheck,
  runFilesPlaceCheck,
  ...ENGINE_READINESS_CHECKS,
  factsProblemsCheck,
];

/** Report entries for a host's facts, blockers first; `options` default to the answers' defaults (target overlay2). */
export function preflightChecks(facts: PreflightFacts, options: Partial<PreflightOptions> = {}): ReportEntry[] {
  const analysis = analyse(facts, resolvePreflightOptions(options));
  const checks = analysis.daemonDown ? HOST_ONLY_CHECKS : CHECKS;
  return sortEntries(checks.flatMap((check) => check.run(analysis)));
}

/**
 * The run's own readiness check after the cutover: the target engine's removals, storage
 * settings included (they are the target's now). The run is done by then, so what the engine
 * would refuse is a warning of the run's report (it stops the engine upgrade, not the run).
 */
export function engineReadinessAfterCutover(facts: PreflightFacts, targetEngine?: string): ReportEntry[] {
  const analysis = analyse(facts, resolvePreflightOptions({ afterCutover: true, targetEngine }));
  return ENGINE_READINESS_CHECKS.flatMap((check) => check.run(analysis)).map((e) =>
    e.severity === 'blocker' ? { ...e, severity: 'warning' as const, summary: `${e.summary} Fix it before the engine upgrade.` } : e,
  );
}
