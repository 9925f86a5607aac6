/** Free space where archives go and where the new data-root grows, against the estimate. */
import { IMAGE_LOADS_AT_ONCE } from '../../docker/images.js';
import type { FilesystemFact } from '../../facts/types.js';
import { formatBytes } from '../../report/format.js';
import type { Analysis } from '../analysis.js';
import { entry, listText, type Check } from '../entry.js';

/**
 * Whether two directories draw on the same free space. The mount table's source device decides
 * when both are known (a bind mount shares its source's space; two tmpfs count as one, which
 * only overestimates); st_dev otherwise.
 */
function sameFilesystem(a: FilesystemFact, b: FilesystemFact): boolean {
  if (a.mount && b.mount) return a.mount.device === b.mount.device;
  return a.device !== undefined && a.device === b.device;
}

export const spaceCheck: Check = {
  name: 'free space',
  keys: ['space-estimate', 'backup-space-insufficient', 'data-root-space-insufficient', 'space-unknown'],
  run(a: Analysis) {
    if (a.alreadyOnTarget) return [];
    const e = a.estimate;
    const backup = a.host.backupDirectory;
    const root = a.host.dataRoot;
    const shared = sameFilesystem(backup, root);
    const backupFree = backup.space?.availableBytes;
    const rootFree = root.space?.availableBytes;
    const parts = [
      `images ${formatBytes(e.imagesBytes)} in archives (${e.imageCount}${a.options.saveImages ? ', saved' : ', not saved'}; each archive holds every layer of its image), ${formatBytes(e.layersBytes)} of layers in a driver (a shared layer once)`,
      `writable layers ${formatBytes(e.writableBytes)} (${e.containerCount} containers)`,
      `volumes ${formatBytes(e.volumesBytes)} (${e.volumeCount} local${a.options.archiveVolumes ? ', archived' : ', not archived'})`,
      ...(e.loadScratchBytes > 0 ? [`${formatBytes(e.loadScratchBytes)} in the new data-root while images load (the daemon unpacks each archive there first, ${IMAGE_LOADS_AT_ONCE} at a time: the largest ${IMAGE_LOADS_AT_ONCE})`] : []),
    ];
    const unknown = e.unknownSizeVolumes.length
      ? ` ${e.unknownSizeVolumes.length} volume(s) of unknown size are not counted (${listText(e.unknownSizeVolumes, 3)}).`
      : '';
    const details = {
      estimate: e,
      backupDirectory: { path: backup.path, resolvedPath: backup.resolvedPath, availableBytes: backupFree },
      dataRoot: { path: root.path, availableBytes: rootFree },
      sameFilesystem: shared,
    };
    const entries = [
      entry(
        'space-estimate',
        'info',
        `Space needed: ${formatBytes(e.backupBytes)} for archives, ${formatBytes(e.dataRootBytes)} in the new data-root${e.fallbacks.length ? ' (partly a fallback estimate)' : ''}`,
        `Estimate from the inventory: ${parts.join('; ')}. Archives go to ${backup.path} (${backupFree === undefined ? 'free space unknown' : `${formatBytes(backupFree)} free`}); ` +
          `the new data-root needs ${formatBytes(e.dataRootBytes)} (${rootFree === undefined ? 'free space unknown' : `${formatBytes(rootFree)} free`})${shared ? ', on the same filesystem' : ''}.` +
          `${e.fallbacks.length ? ` Part of this is a fallback estimate: ${e.fallbacks.join(' ')}` : ''}${unknown}`,
        undefined,
        details,
      ),
    ];
    if (backupFree === undefined || rootFree === undefined) {
      entries.push(
        entry(
          'space-unknown',
          'warning',
          'Free space could not be measured',
          `statfs gave no answer for ${[backupFree === undefined ? backup.path : '', rootFree === undefined ? root.path : ''].filter(Boolean).join(' and ')}.`,
          `Check with \`df -h ${backup.path} ${root.path}\` that there is room for the estimate above.`,
        ),
      );
      return entries;
    }
    if (shared) {
      const need = e.backupBytes + e.dataRootBytes;
      if (backupFree < need) {
        entries.push(
          entry(
            'backup-space-insufficient',
            'blocker',
            'Not enough free space for the archives and the new data-root',
            `${backup.path} and ${root.path} share one filesystem with ${formatBytes(backupFree)} free; the run needs about ${formatBytes(need)} there (${formatBytes(e.backupBytes)} of archives and ${formatBytes(e.dataRootBytes)} for the new data-root).`,
            'Free space, or set backup.directory to a filesystem with room (a separate disk or a mounted share).',
            details,
          ),
        );
      }
      return entries;
    }
    if (backupFree < e.backupBytes) {
      entries.push(
        entry(
          'backup-space-insufficient',
          'blocker',
          'Not enough free space for the archives',
          `${backup.path} has ${formatBytes(backupFree)} free; the archives need about ${formatBytes(e.backupBytes)}.`,
          'Free space there, set backup.directory to a filesystem with room, or archive less (images.save: false with push: true, volumes.archive: false).',
          details,
        ),
      );
    }
    if (rootFree < e.dataRootBytes) {
      entries.push(
        entry(
          'data-root-space-insufficient',
          'blocker',
          'Not enough free space for the new data-root',
          `${root.path} has ${formatBytes(rootFree)} free; restoring images, writable layers and volumes needs about ${formatBytes(e.dataRootBytes)} while the old data-root is kept for rollback.`,
          'Free space on that filesystem or grow it; the old data-root is only deleted by `finalize`.',
          details,
        ),
      );
    }
    return entries;
  },
};
