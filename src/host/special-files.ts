/**
 * FIFOs and device nodes for an archive's extraction (Node has no mknod): the hook src/archive
 * asks for, through the `mknod` command (coreutils).
 */
import type { NodeMaker, SpecialNode } from '../archive/index.js';
import { OperatorError } from '../errors.js';
import type { Host } from './host.js';

/** The `mknod` arguments for a node: `-m MODE PATH p`, or `c`/`b` with its major and minor numbers. */
export function mknodArgs(absolutePath: string, node: SpecialNode): string[] {
  const type = node.kind === 'fifo' ? ['p'] : [node.kind === 'character-device' ? 'c' : 'b', String(node.major), String(node.minor)];
  return ['-m', (node.mode & 0o7777).toString(8), absolutePath, ...type];
}

/** Creates FIFOs and device nodes with mknod. */
export function hostNodeMaker(host: Host): NodeMaker {
  return async (absolutePath, node) => {
    const result = await host.run('mknod', mknodArgs(absolutePath, node), { timeoutMs: 60_000 });
    if (result.exitCode !== 0) {
      throw new OperatorError(`mknod could not create the ${node.kind} ${absolutePath}: ${result.stderr.trim()}`, 'Check that the volume\'s filesystem allows special files (not mounted nodev), then resume.');
    }
  };
}
