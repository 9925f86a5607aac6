/** The storage driver in use, its devicemapper mode, and the thin pool's free space. */
import { formatBytes } from '../../report/format.js';
import { SOURCE_DRIVERS, type Analysis } from '../analysis.js';
import { entry, type Check } from '../entry.js';

/** Docker refuses commits and loads when a pool has less free than this share (dm.min_free_space). */
const DEFAULT_MIN_FREE_SHARE = 0.1;

function usage(used?: number, total?: number): string {
  if (used === undefined || total === undefined) return 'usage unknown';
  const pct = total > 0 ? ` (${Math.round((used / total) * 100)}%)` : '';
  return `${formatBytes(used)} of ${formatBytes(total)}${pct}`;
}

export const sourceDriverCheck: Check = {
  name: 'storage driver and mode',
  keys: ['source-driver', 'already-on-target', 'source-driver-unsupported', 'devicemapper-loop-lvm', 'already-direct-lvm'],
  run(a: Analysis) {
    const { daemon, pool, options } = a;
    const entries = [];
    const mode = pool ? `, ${pool.mode}` : '';
    const poolText = pool
      ? `; pool ${pool.poolName ?? 'unnamed'}, data ${usage(pool.dataUsed, pool.dataTotal)}, metadata ${usage(pool.metadataUsed, pool.metadataTotal)}`
      : '';
    entries.push(
      entry(
        'source-driver',
        'info',
        `Storage driver: ${daemon.driver}${mode}`,
        `The daemon runs the ${daemon.driver} storage driver${mode ? ` in ${pool!.mode} mode` : ''} with data-root ${daemon.dockerRootDir}${poolText}. Target: ${options.target}.`,
        undefined,
        { driver: daemon.driver, mode: pool?.mode, pool, dataRoot: daemon.dockerRootDir, target: options.target },
      ),
    );
    // With devicemapper data beside it, "nothing to migrate" would be false (devicemapper-data-not-in-use says why).
    if (a.alreadyOnTarget && a.strandedDevicemapper) return entries;
    if (a.alreadyOnTarget) {
      entries.push(
        entry(
          'already-on-target',
          'info',
          `Already on ${daemon.driver}`,
          `The daemon already runs ${daemon.driver}, the target: there is nothing to migrate.`,
          'Nothing to do. Before an upgrade to Engine v25, make sure daemon.json names the driver ("storage-driver": "overlay2").',
        ),
      );
      return entries;
    }
    const movable = SOURCE_DRIVERS.includes(daemon.driver) && !(options.target === 'direct-lvm' && daemon.driver === 'overlay2');
    if (!movable) {
      entries.push(
        entry(
          'source-driver-unsupported',
          'blocker',
          `Cannot migrate from ${daemon.driver}`,
          `devmapper-migrate moves hosts off ${SOURCE_DRIVERS.join(', ')}; this daemon runs ${daemon.driver}, which it does not migrate ${options.target === 'direct-lvm' ? 'to direct-lvm' : 'from'}.`,
          `Migrate this host by other means (docker save/load and recreating containers), or check that --docker-host (${a.host.dockerHost}) points at the daemon you mean.`,
          { driver: daemon.driver, supported: SOURCE_DRIVERS },
        ),
      );
    }
    if (pool?.mode === 'loop-lvm') {
      const dataFile = pool.files['Data loop file'] ?? `${daemon.dockerRootDir}/devicemapper/devicemapper/data`;
      entries.push(
        entry(
          'devicemapper-loop-lvm',
          'warning',
          'devicemapper runs in loop-lvm mode',
          `The pool lives in sparse loop files (${dataFile}, ${formatBytes(pool.dataTotal ?? NaN)} apparent size). ` +
            'A plain copy, or tar without --sparse, writes their whole apparent size. The run keeps them by moving the data-root aside, not by copying it.',
          'Do not copy the data-root by hand; if you must, use `cp --sparse=always` or `tar --sparse`.',
          { files: pool.files },
        ),
      );
    }
    if (options.target === 'direct-lvm' && pool?.mode === 'direct-lvm') {
      entries.push(
        entry(
          'already-direct-lvm',
          'info',
          'Already on a direct-lvm pool',
          `The daemon already uses the direct-lvm pool ${pool.poolName ?? ''}; the run builds a new pool on ${options.device ?? 'the target device'} and moves images and containers onto it.`,
        ),
      );
    }
    return entries;
  },
};

export const poolSpaceCheck: Check = {
  name: 'thin pool free space',
  keys: ['thin-pool-space-low'],
  run(a: Analysis) {
    const pool = a.pool;
    if (!pool || a.alreadyOnTarget) return [];
    const low: string[] = [];
    const details: Record<string, unknown> = {};
    const check = (what: 'data' | 'metadata', used?: number, total?: number, reportedMin?: number) => {
      if (used === undefined || total === undefined || total <= 0) return;
      const free = total - used;
      const min = what === 'data' && reportedMin !== undefined ? reportedMin : total * DEFAULT_MIN_FREE_SHARE;
      details[what] = { used, total, free, minimumFree: Math.round(min) };
      if (free < min) low.push(`${what}: ${formatBytes(free)} free of ${formatBytes(total)}, minimum ${formatBytes(min)}`);
    };
    check('data', pool.dataUsed, pool.dataTotal, pool.minFree);
    check('metadata', pool.metadataUsed, pool.metadataTotal);
    if (low.length === 0) return [];
    return [
      entry(
        'thin-pool-space-low',
        'blocker',
        'Thin pool below Docker\'s minimum free space',
        `The pool ${pool.poolName ?? ''} has less free space than Docker's minimum (10% by default, dm.min_free_space): ${low.join('; ')}. ` +
          'dockerd refuses every new device in it ("devmapper: Thin Pool has N free data blocks which is less than minimum required M free data blocks"): the run needs one when it pushes an untagged image, and the pool is the way back until finalize.',
        pool.mode === 'loop-lvm'
          ? 'Free space in the pool: remove unused images (`docker image prune`) and stopped containers you do not need, or grow the loop files\' filesystem.'
          : 'Free space in the pool (`docker image prune`), or extend it: `lvextend -l +100%FREE <vg>/<pool>` (and the metadata LV with --poolmetadatasize).',
        details,
      ),
    ];
  },
};
