/**
 * Extended attributes through getfattr/setfattr (Node has no xattr API and the project adds
 * no native addons): the hooks src/archive asks for. One process per tree, not per file.
 */
import { OperatorError } from '../errors.js';
import { formatSetfattrRestore, getfattrArgs, parseGetfattrDump, SETFATTR_RESTORE_ARGS, type XattrReader, type XattrWriter } from '../archive/xattr.js';
import type { Host } from './host.js';

/** Reads a tree's attributes with getfattr; without getfattr (package attr) none are read, and `onMissing` is told. */
export function hostXattrReader(host: Host, onMissing?: (message: string) => void): XattrReader {
  return async (root) => {
    if (!(await host.which('getfattr'))) {
      onMissing?.('getfattr is not installed (package attr): extended attributes are not kept');
      return new Map();
    }
    const result = await host.run('getfattr', getfattrArgs(root), { timeoutMs: 30 * 60_000 });
    // Exit 1 with "No such attribute"-type noise is fine; real failures leave no dump.
    if (result.exitCode !== 0 && !result.stdout) {
      throw new OperatorError(`getfattr could not read the extended attributes under ${root}: ${result.stderr.trim()}`, 'Check the path and permissions, then resume.');
    }
    return parseGetfattrDump(result.stdout, root);
  };
}

/** Writes attributes back with setfattr --restore. */
export function hostXattrWriter(host: Host): XattrWriter {
  return async (root, entries) => {
    if (entries.size === 0) return;
    const result = await host.run('setfattr', [...SETFATTR_RESTORE_ARGS], { input: formatSetfattrRestore(entries, root), timeoutMs: 30 * 60_000 });
    if (result.exitCode !== 0) {
      throw new OperatorError(`setfattr could not restore extended attributes under ${root}: ${result.stderr.trim()}`, 'Install the attr package, or check that the filesystem supports extended attributes, then resume.');
    }
  };
}
