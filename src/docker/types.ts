/**
 * What the tool records about a Docker host: the inventory (input for export, restore and
 * verify) and the daemon facts preflight reasons about. Plain data, JSON-serialisable, so that
 * pure modules (plan, preflight, verify) can import these types without importing dockerode.
 */
export interface DaemonFacts {
  serverVersion: string;
  apiVersion: string;
  /** Storage driver in use ("devicemapper", "overlay2", "vfs", ...). */
  driver: string;
  /** `docker info`'s DriverStatus pairs, e.g. ["Pool Name", "docker-thinpool"], ["Data loop file", ...]. */
  driverStatus: [string, string][];
  dockerRootDir: string;
  liveRestore: boolean;
  /** "inactive" | "active" | "pending" | "error" | "locked" | "" */
  swarmState: string;
  kernelVersion: string;
  operatingSystem: string;
  securityOptions: string[];
  /** Counts as `docker info` reports them. */
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
}

export interface ImageRecord {
  id: string;
  /** Every repo:tag pointing at this image; empty for an untagged image. */
  tags: string[];
  repoDigests: string[];
  size: number;
  /** Bytes of its layers that other images share too (/system/df), when measured. */
  sharedSize?: number;
  created: string;
  /** Untagged and not used as a parent: `docker image prune` would remove it. */
  dangling: boolean;
}

export interface MountRecord {
  type: string;
  /** Volume name for volume mounts. */
  name?: string;
  source: string;
  destination: string;
  driver?: string;
  mode: string;
  rw: boolean;
}

export interface ContainerNetworkRecord {
  name: string;
  networkId: string;
  /** User-set aliases, without the daemon's short-ID alias. */
  aliases: string[];
  /** Static addresses the user asked for (IPAMConfig); absent when dynamic. */
  staticIPv4?: string;
  staticIPv6?: string;
  /** The address it has now (dynamic or static). */
  ipAddress: string;
  macAddress: string;
}

export interface ContainerRecord {
  id: string;
  name: string;
  /** The image reference the user gave (Config.Image). */
  image: string;
  imageId: string;
  /** "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead" */
  state: string;
  running: boolean;
  /** Started with --rm: deleted, with its anonymous volumes, the moment it stops. */
  autoRemove: boolean;
  restartPolicy: { name: string; maximumRetryCount: number };
  mounts: MountRecord[];
  /** HostConfig.NetworkMode: "default", "bridge", "host", "none", "container:<id>", or a network name. */
  networkMode: string;
  networks: ContainerNetworkRecord[];
  links: string[];
  volumesFrom: string[];
  /** Size of the writable layer in bytes (SizeRw), when the daemon reported it. */
  sizeRw: number;
  labels: Record<string, string>;
  /** HostConfig.Runtime when it is not the default "runc" (RHEL's packages use "docker-runc"). */
  runtime?: string;
  /** HostConfig.LogConfig.Type ("json-file", "journald", or a managed plugin's name); absent in inventories recorded before it was read. */
  logDriver?: string;
  /** HostConfig.VolumeDriver (`--volume-driver`), when set. */
  volumeDriver?: string;
  /** Config.StopTimeout (`--stop-timeout`, seconds), when set; else the engine's default (10 s) applies. */
  stopTimeout?: number;
}

export interface VolumeRecord {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  mountpoint: string;
  scope: string;
  /** Bytes, or -1 when the daemon did not report it. */
  size: number;
  /** Names of the containers that mount it. */
  usedBy: string[];
  anonymous: boolean;
  /** Backed by a remote filesystem (a `type` option such as nfs or cifs): options kept, data not copied. */
  remote: boolean;
}

/** Filesystem types whose files live in memory: nothing of them is on the disk to keep. */
const MEMORY_FS_TYPES = new Set(['tmpfs', 'ramfs']);

/**
 * Whether a volume's files are the host's to keep (CONTRACT.md): not for a remote volume (its
 * data is on a server) nor a tmpfs-backed one (fresh and empty at each mount). Those are kept,
 * restored and compared by their definition (driver, options, labels) only.
 */
export function keepsFilesOnHost(volume: Pick<VolumeRecord, 'remote' | 'options'>): boolean {
  return !volume.remote && !MEMORY_FS_TYPES.has((volume.options.type ?? '').toLowerCase());
}

export interface IpamPoolRecord {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  scope: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  ipam: { driver: string; options: Record<string, string>; config: IpamPoolRecord[] };
  options: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * A managed plugin (`docker plugin ls`): it lives in the data-root (`<data-root>/plugins`), so
 * a move of the data-root leaves it behind.
 */
export interface PluginRecord {
  id: string;
  /** As `docker plugin ls` names it, e.g. "vieux/sshfs:latest". */
  name: string;
  enabled: boolean;
  /** What it provides, from Config.Interface.Types: "volumedriver", "logdriver", "networkdriver", "ipamdriver", "authz", ... */
  capabilities: string[];
  /** Where it was installed from (PluginReference); "" for one made locally with `docker plugin create`. */
  reference: string;
}

/** "vieux/sshfs" and "docker.io/vieux/sshfs:latest" → "vieux/sshfs:latest": the form plugin names are compared in. */
export function pluginKey(name: string): string {
  let key = name.trim().replace(/^docker\.io\//, '').replace(/^library\//, '');
  if (!/:[^/]+$/.test(key) && !key.includes('@')) key += ':latest';
  return key;
}

export interface Inventory {
  /** ISO timestamp of the capture. */
  capturedAt: string;
  daemon: DaemonFacts;
  images: ImageRecord[];
  containers: ContainerRecord[];
  volumes: VolumeRecord[];
  /** User-defined networks only (not bridge, host, none). */
  networks: NetworkRecord[];
  /** Managed plugins; absent in inventories recorded before they were read. */
  plugins?: PluginRecord[];
  /** Bytes of all image layers, each counted once (/system/df LayersSize), when measured. */
  layersSize?: number;
  /** Why the daemon's sizes (layers, writable layers, volumes) are unknown, when they are. */
  sizesNotMeasured?: string;
}
