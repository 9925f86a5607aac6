/**
 * What verify records and reports, as plain JSON-serialisable data: the volume trees taken
 * before the cutover (the run's `volume-trees.json`), and the result of a comparison.
 */
import type { ReportEntry } from '../report/entry.js';
import type { TreeEntryKind } from '../archive/index.js';

export const VOLUME_TREES_VERSION = 1;

/** One file-system entry of a recorded volume tree (TreeEntry, with mtimeNs as a decimal string). */
export interface RecordedTreeEntry {
  /** Relative path; '.' is the volume's data directory itself. */
  path: string;
  kind: TreeEntryKind;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes, for files. */
  size: number;
  /** Hex sha256, for files, when the tree was recorded with content. */
  sha256?: string;
  linkTarget?: string;
  /** Nanoseconds since the epoch, as a decimal string (JSON has no 64-bit integers). */
  mtimeNs: string;
  hardlinkOf?: string;
  device?: string;
  xattrs?: Record<string, string>;
}

/** The tree of one volume's data directory when it was recorded. */
export interface RecordedVolumeTree {
  name: string;
  /** The directory that was described (the volume's Mountpoint then). */
  path: string;
  /** Entries in walk order (parents first, siblings sorted). Absent when `error` is set. */
  entries?: RecordedTreeEntry[];
  /** Why the tree could not be read; verify then says it cannot compare this volume. */
  error?: string;
}

/** `volume-trees.json`: the included volumes' trees, recorded after the containers stopped. */
export interface RecordedVolumeTrees {
  version: typeof VOLUME_TREES_VERSION;
  recordedAt: string;
  /** Whether files were hashed; without it verify compares file sizes instead of content. */
  content: boolean;
  volumes: RecordedVolumeTree[];
}

/** How many objects verify looked at, per kind. */
export interface VerifyCounts {
  images: number;
  tags: number;
  containers: number;
  networks: number;
  volumes: number;
  /** Volumes whose file tree was compared. */
  volumeTrees: number;
  /** Entries (files, directories, links...) compared across those trees. */
  volumeEntries: number;
  /** Configuration places read for storage settings (daemon.json, units, drop-ins, environment files). */
  configFiles: number;
}

/** What verifyHost returns: the report entries and how many of them are differences. */
export interface VerifyResult {
  /** ISO timestamp of the check. */
  checkedAt: string;
  expect: { driver: string; configMustBeClean: boolean };
  /** Blockers (differences) first, then warnings, then one summary per kind. */
  entries: ReportEntry[];
  /** Number of differences found (blocker entries; a truncated list still counts each one). */
  differences: number;
  checked: VerifyCounts;
}
