/**
 * What Docker Engine releases removed from the daemon's configuration, as data: one row per
 * removal, with the release that removed it and its section in docker/cli's docs/deprecated.md
 * (the source of every row; read at docker/cli 28f7560, August 2026). A row's `effect` says
 * what that engine does with the setting: refuse to start, or ignore it (the host starts, but
 * without what the setting did).
 *
 * Only the daemon side is here: CLI-only removals (docker search flags, `docker engine`, ...)
 * cannot stop a host from starting.
 */

/** The newest Engine release these rows are checked against: preflight's default --target-engine. */
export const NEWEST_KNOWN_ENGINE = '28.0';

export const DEPRECATED_MD = 'https://github.com/docker/cli/blob/master/docs/deprecated.md';

export type RemovalEffect = 'refuses-to-start' | 'ignored';

export interface EngineRemoval {
  /** Stable report key: `engine-removed-<id>`. */
  id: string;
  /** The feature, in deprecated.md's words. */
  feature: string;
  /** The Engine release that removed it ("25.0"). */
  removedIn: string;
  /** Whether deprecated.md says it was removed (true) or only names a target release for that. */
  confirmed: boolean;
  effect: RemovalEffect;
  /** daemon.json keys (top level) that set it. */
  daemonJsonKeys?: readonly string[];
  /** dockerd flags that set it (long names, and one-letter ones as "-g"). */
  flags?: readonly string[];
  /** A storage driver name ("storage-driver": X, --storage-driver X). */
  storageDriver?: string;
  /** A storage option, or an option prefix ending in "." ("dm."). */
  storageOpt?: string;
  /** A log driver name ("log-driver": X, --log-driver X). */
  logDriver?: string;
  /** A log option key ("log-opts": { X: ... }, --log-opt X=...). */
  logOpt?: string;
  /** The anchor of its section in deprecated.md. */
  source: string;
  /** What to do instead, in an operator's words. */
  fix: string;
}

export const ENGINE_REMOVALS: readonly EngineRemoval[] = [
  {
    id: 'api-enable-cors',
    feature: '--api-enable-cors flag on dockerd',
    removedIn: '17.09',
    confirmed: true,
    effect: 'refuses-to-start',
    flags: ['--api-enable-cors'],
    source: '--api-enable-cors-flag-on-dockerd',
    fix: 'Remove --api-enable-cors; put a reverse proxy in front of the API if a browser needs it.',
  },
  {
    id: 'disable-legacy-registry',
    feature: '--disable-legacy-registry override daemon option',
    removedIn: '19.03',
    confirmed: true,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['disable-legacy-registry'],
    flags: ['--disable-legacy-registry'],
    source: '--disable-legacy-registry-override-daemon-option',
    fix: 'Remove the option: V1 registries are gone since 17.12 and there is nothing left to disable.',
  },
  {
    id: 'graph',
    feature: '-g and --graph flags on dockerd',
    removedIn: '23.0',
    confirmed: true,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['graph'],
    flags: ['-g', '--graph'],
    source: '-g-and---graph-flags-on-dockerd',
    fix: 'Use "data-root" in daemon.json (or --data-root) with the same directory instead.',
  },
  {
    id: 'cluster-store',
    feature: 'Classic Swarm and overlay networks using cluster store',
    removedIn: '23.0',
    confirmed: true,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['cluster-store', 'cluster-advertise', 'cluster-store-opts'],
    flags: ['--cluster-store', '--cluster-advertise', '--cluster-store-opt'],
    source: 'classic-swarm-and-overlay-networks-using-cluster-store',
    fix: 'Remove the cluster-store options; overlay networks need Swarm mode (`docker swarm init`) on new engines.',
  },
  {
    id: 'overlay2-override-kernel-check',
    feature: 'Support for the overlay2.override_kernel_check storage option',
    removedIn: '24.0',
    confirmed: true,
    effect: 'refuses-to-start',
    storageOpt: 'overlay2.override_kernel_check',
    source: 'support-for-the-overlay2override_kernel_check-storage-option',
    fix: 'Remove overlay2.override_kernel_check from the storage options: the kernel check it skipped is gone.',
  },
  {
    id: 'aufs',
    feature: 'AuFS storage driver',
    removedIn: '24.0',
    confirmed: true,
    effect: 'refuses-to-start',
    storageDriver: 'aufs',
    source: 'aufs-storage-driver',
    fix: 'Migrate to overlay2 before the upgrade (`devmapper-migrate run`).',
  },
  {
    id: 'overlay',
    feature: 'Legacy "overlay" storage driver',
    removedIn: '24.0',
    confirmed: true,
    effect: 'refuses-to-start',
    storageDriver: 'overlay',
    source: 'legacy-overlay-storage-driver',
    fix: 'Migrate to overlay2 before the upgrade (`devmapper-migrate run`).',
  },
  {
    id: 'devicemapper',
    feature: 'Device mapper storage driver',
    removedIn: '25.0',
    confirmed: true,
    effect: 'refuses-to-start',
    storageDriver: 'devicemapper',
    source: 'device-mapper-storage-driver',
    fix: 'Migrate to overlay2 before the upgrade (`devmapper-migrate run`).',
  },
  {
    id: 'dm-storage-opts',
    feature: 'Device mapper storage driver (its dm.* storage options)',
    removedIn: '25.0',
    confirmed: true,
    effect: 'refuses-to-start',
    storageOpt: 'dm.',
    source: 'device-mapper-storage-driver',
    fix: 'Remove every dm.* storage option: overlay2 stops with "overlay2: unknown option dm.…" on any engine.',
  },
  {
    id: 'oom-score-adjust',
    feature: 'OOM-score adjust for the daemon',
    removedIn: '25.0',
    confirmed: true,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['oom-score-adjust'],
    flags: ['--oom-score-adjust'],
    source: 'oom-score-adjust-for-the-daemon',
    fix: 'Remove the option and set OOMScoreAdjust= in a docker.service drop-in instead.',
  },
  {
    id: 'logentries',
    feature: 'logentries logging driver',
    removedIn: '25.0',
    confirmed: true,
    effect: 'refuses-to-start',
    logDriver: 'logentries',
    source: 'logentries-logging-driver',
    fix: 'Choose another log driver (json-file, journald, syslog, ...) for the daemon and its containers.',
  },
  {
    id: 'api-cors-header',
    feature: 'API CORS headers',
    removedIn: '28.0',
    confirmed: true,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['api-cors-header'],
    flags: ['--api-cors-header'],
    source: 'api-cors-headers',
    fix: 'Remove api-cors-header (it has no effect since 27.0); put a reverse proxy in front of the API if a browser needs it.',
  },
  {
    id: 'fluentd-async-connect',
    feature: 'fluentd-async-connect log opt',
    removedIn: '28.0',
    confirmed: true,
    effect: 'refuses-to-start',
    logOpt: 'fluentd-async-connect',
    source: 'fluentd-async-connect-log-opt',
    fix: 'Use the fluentd-async log option instead of fluentd-async-connect.',
  },
  {
    id: 'allow-nondistributable-artifacts',
    feature: 'Configuration for pushing non-distributable artifacts',
    removedIn: '29.0',
    confirmed: false,
    effect: 'refuses-to-start',
    daemonJsonKeys: ['allow-nondistributable-artifacts'],
    flags: ['--allow-nondistributable-artifacts'],
    source: 'configuration-for-pushing-non-distributable-artifacts',
    fix: 'Remove allow-nondistributable-artifacts: it has no effect since 28.0.',
  },
];

/** "25.0" → [25, 0]; "26.1.5+dfsg1" → [26, 1]. */
export function engineVersion(text: string): [number, number] | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0)] : undefined;
}

/** Whether release `a` is `b` or later. */
export function engineAtLeast(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
}

/** The rows that the given engine has removed (or, unconfirmed, is to remove). */
export function removalsUpTo(target: [number, number]): EngineRemoval[] {
  return ENGINE_REMOVALS.filter((r) => engineAtLeast(target, engineVersion(r.removedIn)!));
}
