/** Volume archives: streaming tar packing with checksums, safe extraction, tree comparison. */
export { ArchiveError, UnsafeArchiveError } from './errors.js';
export { OffThreadSha256 } from './off-thread-sha256.js';
export { packDirectory, packIntoFile, type PackOptions, type PackResult, type EntryCounts, type SkippedEntry } from './pack.js';
export type { ArchiveFile, PackTarget } from './pack-sink.js';
export { ARCHIVE_READ_BYTES, extractArchive, type ExtractOptions, type ExtractResult, type NodeMaker, type SpecialNode } from './extract.js';
export { compareTrees, describeTree, diffTrees, type CompareOptions, type DescribeOptions, type Difference, type DifferenceField, type TreeEntry, type TreeEntryKind } from './tree.js';
export {
  formatSetfattrRestore,
  getfattrArgs,
  parseGetfattrDump,
  SETFATTR_RESTORE_ARGS,
  type TreeXattrs,
  type XattrReader,
  type XattrWriter,
  type Xattrs,
} from './xattr.js';
