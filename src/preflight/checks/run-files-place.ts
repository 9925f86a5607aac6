/**
 * The run's own files must not live inside the data-root: the cutover moves the data-root
 * aside with everything in it, so the state file and journal (and with them automatic
 * rollback and `rollback`) or the image and volume archives would go with it while Docker is
 * stopped. Judged by real paths (symlinks and bind-mount-free paths resolved on both sides).
 */
import type { FilesystemFact } from '../../facts/types.js';
import type { Analysis } from '../analysis.js';
import { entry, type Check } from '../entry.js';

/** Whether `inner` is `outer` or below it; both absolute, normalised paths. */
export function isWithin(inner: string, outer: string): boolean {
  const base = outer.endsWith('/') ? outer : `${outer}/`;
  return inner === outer || inner.startsWith(base);
}

function realOf(fact: FilesystemFact): string {
  return fact.realPath ?? fact.resolvedPath ?? fact.path;
}

export const runFilesPlaceCheck: Check = {
  name: 'state and backups outside the data-root',
  keys: ['state-dir-inside-data-root', 'backup-dir-inside-data-root'],
  run(a: Analysis) {
    const root = a.host.dataRoot;
    const rootReal = realOf(root);
    const places: [key: string, what: string, option: string, fact: FilesystemFact | undefined][] = [
      ['state-dir-inside-data-root', 'state directory', '--state-dir', a.host.stateDirectory],
      ['backup-dir-inside-data-root', 'backup directory', 'backup.directory', a.host.backupDirectory],
    ];
    return places
      .filter(([, , , fact]) => fact !== undefined && isWithin(realOf(fact), rootReal))
      .map(([key, what, option, fact]) => {
        const real = realOf(fact!);
        const via = real === fact!.path ? '' : ` (really ${real})`;
        return entry(
          key,
          'blocker',
          `The ${what} is inside the data-root`,
          `The ${what} ${fact!.path}${via} is inside Docker's data-root ${root.path}${rootReal === root.path ? '' : ` (really ${rootReal})`}. ` +
            'The run moves the data-root aside with everything in it while Docker is stopped: ' +
            (key === 'state-dir-inside-data-root' ? 'the state file and journal would go with it, and neither automatic rollback nor `rollback` could find the run.' : 'the image and volume archives would go with it.') +
            ' This blocker cannot be ignored.',
          `Choose a ${what} outside ${rootReal} (${option}), on a filesystem with room for the archives.`,
          { path: fact!.path, realPath: real, dataRoot: root.path, dataRootRealPath: rootReal },
        );
      });
  },
};
