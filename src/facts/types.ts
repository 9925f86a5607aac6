/**
 * What preflight knows about a host: plain, JSON-serialisable data gathered by src/facts and
 * judged by the pure checks in src/preflight. Texts of configuration files are kept as read
 * (with credentials masked) so that the checks, and a later rewrite, parse them the same way.
 */
import type { DaemonFacts, Inventory } from '../docker/types.js';
import type { FsSpace } from '../host/host.js';

/** A system file as read: `text` is undefined when the file does not exist. */
export interface FileFact {
  path: string;
  text?: string;
}

/** One file of a systemd unit's configuration, in the order systemd applies them. */
export interface UnitFileFact {
  path: string;
  kind: 'unit' | 'drop-in';
  text: string;
}

export interface SystemdFacts {
  /** docker.service: the unit file systemd would use, then its drop-ins. Empty when not installed. */
  service: UnitFileFact[];
  socket: UnitFileFact[];
  /** Unit files of RHEL's docker-storage-setup / container-storage-setup, when installed. */
  storageSetupUnits: string[];
}

/** The dockerd process that serves the Docker host the tool talks to. */
export interface DockerdProcess {
  pid: number;
  /** From /proc/<pid>/cmdline, credentials masked. */
  argv: string[];
  /** How it was matched to the Docker host: its -H flag, or the default socket. */
  matchedBy: 'host-flag' | 'default-socket' | 'socket-activation';
  /** The systemd unit whose cgroup it runs in ("docker.service"), when any. */
  systemdUnit?: string;
}

export interface MountFact {
  device: string;
  mountPoint: string;
  fsType: string;
  options: string[];
}

/** The filesystem holding a directory (which may not exist yet: its nearest existing parent). */
export interface FilesystemFact {
  path: string;
  /** The path, or its nearest existing parent, with symlinks resolved. */
  resolvedPath?: string;
  /** The whole path with symlinks resolved: resolvedPath plus the components that do not exist yet. */
  realPath?: string;
  exists: boolean;
  mount?: MountFact;
  /** From the mount table, else from statfs's magic number. */
  fsType?: string;
  space?: FsSpace;
  /** st_dev: two paths on one filesystem share it. */
  device?: number;
}

export interface DTypeFact {
  /** undefined: could not be determined. */
  supported?: boolean;
  method: 'xfs_info' | 'tune2fs' | 'filesystem-type' | 'none';
  /** The line or reason it rests on, e.g. "naming =version 2 bsize=4096 ascii-ci=0, ftype=0". */
  evidence: string;
  /** xfs only: the ftype value when xfs_info printed one. */
  xfsFtype?: number;
}

export interface DataRootFact extends FilesystemFact {
  dType: DTypeFact;
  /** Storage-driver directories under the data-root that hold something ("devicemapper", "overlay2", ...). */
  driverDirs: string[];
  /** What `devicemapper/` holds, when it holds something: a pool's device metadata and loop files. */
  devicemapper?: DevicemapperDirFact;
}

/** The devicemapper driver's home under a data-root: `metadata/` (one file per thin device, plus
 * deviceset-metadata and transaction-metadata) and `devicemapper/` (loop-lvm's data and metadata files). */
export interface DevicemapperDirFact {
  /** Entries of devicemapper/metadata (the first 20). */
  metadataFiles: string[];
  metadataCount: number;
  /** Entries of devicemapper/devicemapper ("data", "metadata" in loop-lvm mode). */
  poolFiles: string[];
}

export interface LvmLv {
  lvName: string;
  vgName: string;
  attr: string;
  sizeBytes?: number;
  poolLv?: string;
  dataPercent?: number;
  metadataPercent?: number;
}
export interface LvmVg {
  vgName: string;
  sizeBytes?: number;
  freeBytes?: number;
}
export interface LvmPv {
  pvName: string;
  vgName: string;
  sizeBytes?: number;
}

export interface LvmFacts {
  /** Each LVM tool the direct-lvm setup needs, with its path when found. */
  tools: Record<string, string | null>;
  /** How lvm2 reported: JSON, or columns (lvm2 before 2.02.158 has no --reportformat json). */
  reportFormat?: 'json' | 'columns';
  lvs?: LvmLv[];
  vgs?: LvmVg[];
  pvs?: LvmPv[];
}

export interface BlockDeviceNode {
  name: string;
  type: string;
  sizeBytes?: number;
  fsType?: string;
  mountPoint?: string;
  children: BlockDeviceNode[];
}

/** The device named for a direct-lvm target. */
export interface TargetDeviceFact {
  path: string;
  resolvedPath?: string;
  exists: boolean;
  isBlockDevice: boolean;
  lsblk?: BlockDeviceNode;
  /** Where it or one of its partitions is mounted or used as swap. */
  mountedAt: string[];
  /** Devices that hold it or one of its partitions (/sys/class/block/X/holders: dm, md, multipath, dm-crypt), e.g. "/dev/sdb held by /dev/dm-3". */
  heldBy?: string[];
  /** Signatures found (blkid -p): filesystem, partition table, LVM2_member, swap... undefined when not probed. */
  signatures?: { type: string; usage?: string }[];
}

export interface InstalledDockerd {
  path: string;
  /** `dockerd --version` output, e.g. "Docker version 20.10.24+dfsg1, build 297e128". */
  versionOutput: string;
}

export interface HostFacts {
  dockerHost: string;
  daemonJson: FileFact;
  systemd: SystemdFacts;
  /** /etc/sysconfig/docker, docker-storage, docker-storage-setup, /etc/default/docker, and every
   * EnvironmentFile= of docker.service, credentials masked. */
  environmentFiles: FileFact[];
  dockerd?: DockerdProcess;
  /** Every dockerd running on the machine (several can), for the report when none matched. */
  dockerdCandidates: { pid: number; argv: string[] }[];
  installedDockerd?: InstalledDockerd;
  kernel: { release?: string; overlayAvailable: boolean; overlayEvidence: string };
  dataRoot: DataRootFact;
  backupDirectory: FilesystemFact;
  /** --state-dir, when the caller named it (run, preflight). */
  stateDirectory?: FilesystemFact;
  lvm: LvmFacts;
  targetDevice?: TargetDeviceFact;
  /** Read only when the daemon does not answer. */
  journal?: JournalFact;
  /** Probes that failed (permissions, odd output): the checks treat their facts as unknown. */
  problems: { probe: string; message: string }[];
}

/** Docker's journal (`journalctl -u docker`), read when the daemon does not answer. */
export interface JournalFact {
  /** The journal could be read (journalctl exists and answered). */
  read: boolean;
  /** The last line in which dockerd said why it stopped ("failed to start daemon: ..."). */
  lastError?: string;
}

/** Why the daemon's facts are missing: it did not answer (`docker` then holds empty stand-ins). */
export interface DaemonDownFact {
  message: string;
  remedy: string;
}

export interface PreflightFacts {
  collectedAt: string;
  docker: { daemon: DaemonFacts; inventory: Inventory };
  host: HostFacts;
  /** Set when the daemon did not answer: only the host's facts are real. */
  daemonDown?: DaemonDownFact;
}

export type { FsSpace };
