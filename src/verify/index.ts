/** verify: compare the host with a run's recorded inventory and report every difference. */
export { recordVolumeTrees, describeVolume, describeVolumeDirectory, type TreeOptions } from './trees.js';
export { describeVolumesNow, verifyHost, type CurrentVolumeTrees, type VerifyHostInput } from './verify-host.js';
export { formatVerifyText, verifyJson, writeVerifyReport } from './report.js';
export { DOWNTIME_ESTIMATE_NOTE, measuredDowntime, runCaveats, withCaveats } from './caveats.js';
export { compareHost, treeDifferences, MAX_FILE_ENTRIES_PER_VOLUME, type CompareInput, type ConfigState, type CurrentHost } from './compare.js';
export { normalizeContainer, type NormalizedContainer } from './normalize.js';
export { configStateOf } from './config-state.js';
export {
  VOLUME_TREES_VERSION,
  type RecordedTreeEntry,
  type RecordedVolumeTree,
  type RecordedVolumeTrees,
  type VerifyCounts,
  type VerifyResult,
} from './types.js';
