/**
 * Preflight's pure half: PreflightFacts (and the answers that matter) in, report entries out,
 * blockers first. Each check is small, named, and owns stable keys (see CHECKS).
 */
import { sortEntries, type ReportEntry } from '../report/entry.js';
import type { PreflightFacts } from '../facts/types.js';
import { analyse } from './analysis.js';
import { downtimeCheck } from './checks/downtime.js';
import { directLvmCheck } from './checks/direct-lvm.js';
import { poolSpaceCheck, sourceDriverCheck } from './checks/driver.js';
import { daemonJsonCheck, dockerdProcessCheck, storageFlagsCheck, storageSetupCheck } from './checks/config.js';
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
  dockerdProcessCheck,
  sourceDriverCheck,
  versionCheck,
  poolSpaceCheck,
  daemonJsonCheck,
  storageFlagsCheck,
  storageSetupCheck,
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
  pluginsCheck,
  downtimeCheck,
  factsProblemsCheck,
];

/** Report entries for a host's facts, blockers first; `options` default to the answers' defaults (target overlay2). */
export function preflightChecks(facts: PreflightFacts, options: Partial<PreflightOptions> = {}): ReportEntry[] {
  const analysis = analyse(facts, resolvePreflightOptions(options));
  return sortEntries(CHECKS.flatMap((check) => check.run(analysis)));
}
