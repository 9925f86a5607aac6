/**
 * Reads what a Docker host holds into the plain records of ./types.ts: the daemon's facts and
 * the inventory (images, containers, volumes, user-defined networks, managed plugins), sorted so that two
 * captures of an unchanged host are equal apart from `capturedAt`. Read-only.
 */
import { mapLimit } from '../map-limit.js';
import { apiAtLeast } from './api-version.js';
import { apiGet, callDocker, daemonMessage, isBoundExpired, READ_TIMEOUT_MS, withinBound, type DockerClient } from './client.js';
import type {
  ContainerNetworkRecord,
  ContainerRecord,
  DaemonFacts,
  ImageRecord,
  Inventory,
  IpamPoolRecord,
  MountRecord,
  NetworkRecord,
  PluginRecord,
  VolumeRecord,
} from './types.js';

// The slices of the Engine API's answers that the inventory reads (API 1.30 and later).
type StringMap = Record<string, string> | null | undefined;

interface InfoResponse {
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  DockerRootDir?: string;
  LiveRestoreEnabled?: boolean;
  Swarm?: { LocalNodeState?: string };
  KernelVersion?: string;
  OperatingSystem?: string;
  SecurityOptions?: string[] | null;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
}

interface VersionResponse {
  Version?: string;
  ApiVersion?: string;
}

interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  /** Bytes of layers this image shares with others; -1 unless /system/df computed it. */
  SharedSize?: number;
  Created?: number;
}

interface ContainerSummary {
  Id: string;
  SizeRw?: number;
}

interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  NetworkID?: string;
  IPAddress?: string;
  MacAddress?: string;
}

interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State?: { Status?: string; Running?: boolean };
  Config?: { Image?: string; Labels?: StringMap; StopTimeout?: number | null };
  HostConfig?: {
    AutoRemove?: boolean;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    NetworkMode?: string;
    Links?: string[] | null;
    VolumesFrom?: string[] | null;
    Runtime?: string;
    LogConfig?: { Type?: string } | null;
    VolumeDriver?: string;
  };
  Mounts?: {
    Type?: string;
    Name?: string;
    Source?: string;
    Destination?: string;
    Driver?: string;
    Mode?: string;
    RW?: boolean;
  }[] | null;
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null };
}

interface PluginSummary {
  Id?: string;
  Name?: string;
  Enabled?: boolean;
  PluginReference?: string;
  // The API writes each type as "docker.volumedriver/1.0"; the Go struct is {Capability, Prefix, Version}.
  Config?: { Interface?: { Types?: (string | { Capability?: string })[] | null } | null } | null;
}

interface VolumeSummary {
  Name: string;
  Driver?: string;
  Mountpoint?: string;
  Labels?: StringMap;
  Options?: StringMap;
  Scope?: string;
  UsageData?: { Size?: number } | null;
}

interface NetworkSummary {
  Id: string;
  Name: string;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Options?: StringMap;
    Config?: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: StringMap }[] | null;
  } | null;
  Options?: StringMap;
  Labels?: StringMap;
}

/**
 * How long /system/df may take. It walks every writable layer and volume: on a big
 * devicemapper host that can take many minutes, and preflight must still finish, with an
 * estimate that says what it could not measure.
 */
export const DISK_USAGE_TIMEOUT_MS = 120_000;
/** Container inspections in flight at once. */
const INSPECT_CONCURRENCY = 8;

/** Names Docker creates by itself; the inventory lists user-defined networks only. */
const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none']);

/** `type` options of local volumes whose data lives on another machine. */
const REMOTE_FS_TYPES = new Set([
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ceph', 'glusterfs', 'fuse.glusterfs', 'sshfs', 'fuse.sshfs',
  'lustre', '9p', 'davfs', 'afs', 'gpfs',
]);

/** Label Engine 23+ puts on anonymous volumes. */
const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A copy with keys in order, so that JSON output is stable. */
function sortedMap(map: StringMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(map ?? {}).sort(byString)) out[key] = map![key]!;
  return out;
}

function get<T>(client: DockerClient, what: string, path: string, query?: Record<string, unknown>, timeoutMs = READ_TIMEOUT_MS): Promise<T> {
  return callDocker(client, what, (signal) => apiGet<T>(client.api, path, query, signal), timeoutMs);
}

/** The daemon's version, storage driver and the other facts preflight reasons about. */
export async function readDaemonFacts(client: DockerClient): Promise<DaemonFacts> {
  const [info, version] = await Promise.all([
    get<InfoResponse>(client, 'reading docker info', '/info'),
    get<VersionResponse>(client, 'reading docker version', '/version'),
  ]);
  return {
    serverVersion: info.ServerVersion ?? version.Version ?? '',
    apiVersion: version.ApiVersion ?? '',
    driver: info.Driver ?? '',
    driverStatus: (info.DriverStatus ?? []).map(([key, value]) => [key, value] as [string, string]),
    dockerRootDir: info.DockerRootDir ?? '',
    liveRestore: info.LiveRestoreEnabled ?? false,
    swarmState: info.Swarm?.LocalNodeState ?? '',
    kernelVersion: info.KernelVersion ?? '',
    operatingSystem: info.OperatingSystem ?? '',
    securityOptions: info.SecurityOptions ?? [],
    containers: {
      total: info.Containers ?? 0,
      running: info.ContainersRunning ?? 0,
      paused: info.ContainersPaused ?? 0,
      stopped: info.ContainersStopped ?? 0,
    },
    images: info.Images ?? 0,
  };
}

/** Tags as the API gives them, without the "<none>:<none>" placeholder of untagged images. */
const realTags = (tags: string[] | null | undefined) => (tags ?? []).filter((t) => !t.startsWith('<none>')).sort(byString);

/** Top-level images (what `docker images` shows; build-cache parents are not data). */
async function readImages(client: DockerClient, usage: DiskUsage): Promise<ImageRecord[]> {
  const [images, dangling] = await Promise.all([
    get<ImageSummary[]>(client, 'listing images', '/images/json'),
    get<ImageSummary[]>(client, 'listing dangling images', '/images/json', { filters: { dangling: ['true'] } }),
  ]);
  const danglingIds = new Set(dangling.map((image) => image.Id));
  return images
    .map((image) => ({
      id: image.Id,
      tags: realTags(image.RepoTags),
      repoDigests: (image.RepoDigests ?? []).filter((d) => !d.startsWith('<none>')).sort(byString),
      size: image.Size ?? -1,
      ...(usage.sharedSizes.has(image.Id) ? { sharedSize: usage.sharedSizes.get(image.Id)! } : {}),
      created: image.Created ? new Date(image.Created * 1000).toISOString() : '',
      dangling: danglingIds.has(image.Id),
    }))
    .sort((a, b) => {
      // Tagged images by first tag, then untagged ones by ID.
      if (a.tags.length && b.tags.length) return byString(a.tags[0]!, b.tags[0]!);
      if (a.tags.length !== b.tags.length) return a.tags.length ? -1 : 1;
      return byString(a.id, b.id);
    });
}

/** "/db:/web/database" (inspect's form) → "db:database" (the form `--link` takes). */
function userLink(link: string): string {
  const [source = '', alias = ''] = link.split(':');
  return `${source.replace(/^\//, '')}:${alias.slice(alias.lastIndexOf('/') + 1)}`;
}

function mountRecord(mount: NonNullable<ContainerInspect['Mounts']>[number]): MountRecord {
  return {
    type: mount.Type ?? '',
    ...(mount.Name ? { name: mount.Name } : {}),
    source: mount.Source ?? '',
    destination: mount.Destination ?? '',
    ...(mount.Driver ? { driver: mount.Driver } : {}),
    mode: mount.Mode ?? '',
    rw: mount.RW ?? true,
  };
}

function networkRecords(container: ContainerInspect): ContainerNetworkRecord[] {
  // API ≤ 1.44 adds the container's short ID as an alias on user-defined networks: not the user's.
  const shortId = container.Id.slice(0, 12);
  return Object.entries(container.NetworkSettings?.Networks ?? {})
    .map(([name, endpoint]) => ({
      name,
      networkId: endpoint.NetworkID ?? '',
      aliases: (endpoint.Aliases ?? []).filter((alias) => alias !== shortId && alias !== container.Id).sort(byString),
      ...(endpoint.IPAMConfig?.IPv4Address ? { staticIPv4: endpoint.IPAMConfig.IPv4Address } : {}),
      ...(endpoint.IPAMConfig?.IPv6Address ? { staticIPv6: endpoint.IPAMConfig.IPv6Address } : {}),
      ipAddress: endpoint.IPAddress ?? '',
      macAddress: endpoint.MacAddress ?? '',
    }))
    .sort((a, b) => byString(a.name, b.name));
}

function containerRecord(container: ContainerInspect, sizeRw: number | undefined): ContainerRecord {
  const host = container.HostConfig ?? {};
  return {
    id: container.Id,
    name: container.Name.replace(/^\//, ''),
    image: container.Config?.Image ?? '',
    imageId: container.Image,
    state: container.State?.Status ?? '',
    running: container.State?.Running ?? false,
    autoRemove: host.AutoRemove ?? false,
    restartPolicy: { name: host.RestartPolicy?.Name || 'no', maximumRetryCount: host.RestartPolicy?.MaximumRetryCount ?? 0 },
    mounts: (container.Mounts ?? []).map(mountRecord).sort((a, b) => byString(a.destination, b.destination)),
    networkMode: host.NetworkMode ?? '',
    networks: networkRecords(container),
    links: (host.Links ?? []).map(userLink).sort(byString),
    volumesFrom: [...(host.VolumesFrom ?? [])],
    sizeRw: sizeRw ?? -1,
    labels: sortedMap(container.Config?.Labels),
    ...(host.Runtime && host.Runtime !== 'runc' ? { runtime: host.Runtime } : {}),
    ...(host.LogConfig?.Type ? { logDriver: host.LogConfig.Type } : {}),
    ...(host.VolumeDriver ? { volumeDriver: host.VolumeDriver } : {}),
    ...(typeof container.Config?.StopTimeout === 'number' ? { stopTimeout: container.Config.StopTimeout } : {}),
  };
}

async function readContainers(client: DockerClient, sizes: DiskUsage): Promise<ContainerRecord[]> {
  // Without size=true: measuring writable layers is the slow part, and /system/df does it once,
  // within its bound, for containers and images alike.
  const summaries = await get<ContainerSummary[]>(client, 'listing containers', '/containers/json', { all: true });
  const records = await mapLimit(summaries, INSPECT_CONCURRENCY, async (summary) => {
    try {
      const inspect = await get<ContainerInspect>(client, `inspecting container ${summary.Id.slice(0, 12)}`, `/containers/${summary.Id}/json`);
      return containerRecord(inspect, sizes.measured ? (sizes.containers.get(summary.Id) ?? 0) : undefined);
    } catch (error) {
      // Removed between the list and the inspection (a --rm container that just ended).
      if (/No such container/i.test((error as Error).message)) return undefined;
      throw error;
    }
  });
  return records.filter((r): r is ContainerRecord => r !== undefined).sort((a, b) => byString(a.name, b.name));
}

/** `GET /system/df?type=` (only some kinds of object) came with API 1.42. */
const DF_TYPE_API = '1.42';

/** The query of the /system/df that measures disk usage: the kinds the inventory uses, where the API lets the daemon skip the rest. */
export function diskUsageQuery(apiVersion: string): Record<string, unknown> | undefined {
  return apiAtLeast(apiVersion, DF_TYPE_API) ? { type: ['container', 'image', 'volume'] } : undefined;
}

/** What /system/df measured: sizes by container ID, image ID and volume name, and the layers' total. */
export interface DiskUsage {
  /** Whether the daemon answered; when not, `note` says why and every size is unknown. */
  measured: boolean;
  note?: string;
  /** Bytes of all image layers, each layer once (`docker system df`'s image size). */
  layersSize?: number;
  containers: Map<string, number>;
  sharedSizes: Map<string, number>;
  volumes: Map<string, number>;
}

interface DiskUsageResponse {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: VolumeSummary[] | null;
}

const nonNegative = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/** The sizes in a /system/df answer. */
export function diskUsageOf(df: DiskUsageResponse): DiskUsage {
  const usage: DiskUsage = { measured: true, containers: new Map(), sharedSizes: new Map(), volumes: new Map() };
  if (nonNegative(df.LayersSize)) usage.layersSize = df.LayersSize;
  // The daemon omits SizeRw when it is 0 (omitempty).
  for (const c of df.Containers ?? []) usage.containers.set(c.Id, nonNegative(c.SizeRw) ? c.SizeRw : 0);
  for (const image of df.Images ?? []) if (nonNegative(image.SharedSize)) usage.sharedSizes.set(image.Id, image.SharedSize);
  for (const volume of df.Volumes ?? []) {
    const size = volume.UsageData?.Size;
    if (nonNegative(size)) usage.volumes.set(volume.Name, size);
  }
  return usage;
}

const unmeasured = (note: string): DiskUsage => ({ measured: false, note, containers: new Map(), sharedSizes: new Map(), volumes: new Map() });

/**
 * Sizes from /system/df, bounded by `timeoutMs`. A daemon that does not answer in time, or
 * fails, leaves them unknown with a note: the inventory stands without them (size -1).
 */
export async function readDiskUsage(client: DockerClient, timeoutMs: number = DISK_USAGE_TIMEOUT_MS): Promise<DiskUsage> {
  // `type` (API 1.42) limits the work to what is asked; older daemons measure all.
  const query = diskUsageQuery(client.apiVersion);
  try {
    // The bound ends the request and its connection, on Node 16 too (see withinBound).
    return diskUsageOf(await withinBound(timeoutMs, (signal) => apiGet<DiskUsageResponse>(client.api, '/system/df', query, signal)));
  } catch (error) {
    if (isBoundExpired(error)) return unmeasured(`the daemon did not answer /system/df within ${+(timeoutMs / 1000).toFixed(1)} s`);
    return unmeasured(`/system/df failed: ${daemonMessage(error)}`);
  }
}

function isAnonymous(volume: VolumeSummary): boolean {
  return /^[0-9a-f]{64}$/.test(volume.Name) || Object.prototype.hasOwnProperty.call(volume.Labels ?? {}, ANONYMOUS_LABEL);
}

async function readVolumes(client: DockerClient, containers: readonly ContainerRecord[], usage: DiskUsage): Promise<VolumeRecord[]> {
  const list = await get<{ Volumes?: VolumeSummary[] | null }>(client, 'listing volumes', '/volumes');
  const sizes = usage.volumes;
  const users = new Map<string, string[]>();
  for (const container of containers) {
    for (const mount of container.mounts) {
      if (mount.type !== 'volume' || !mount.name) continue;
      const names = users.get(mount.name) ?? [];
      if (!names.includes(container.name)) names.push(container.name);
      users.set(mount.name, names);
    }
  }
  return (list.Volumes ?? [])
    .map((volume) => {
      const options = sortedMap(volume.Options);
      const driver = volume.Driver ?? 'local';
      return {
        name: volume.Name,
        driver,
        options,
        labels: sortedMap(volume.Labels),
        mountpoint: volume.Mountpoint ?? '',
        scope: volume.Scope ?? 'local',
        size: sizes.get(volume.Name) ?? -1,
        usedBy: (users.get(volume.Name) ?? []).sort(byString),
        anonymous: isAnonymous(volume),
        // A plugin's volume, or a local one mounting a network filesystem: its data is not on this disk.
        remote: driver !== 'local' || REMOTE_FS_TYPES.has((options.type ?? '').toLowerCase()),
      };
    })
    .sort((a, b) => byString(a.name, b.name));
}

function ipamPool(pool: NonNullable<NonNullable<NetworkSummary['IPAM']>['Config']>[number]): IpamPoolRecord {
  const aux = sortedMap(pool.AuxiliaryAddresses);
  return {
    ...(pool.Subnet ? { subnet: pool.Subnet } : {}),
    ...(pool.Gateway ? { gateway: pool.Gateway } : {}),
    ...(pool.IPRange ? { ipRange: pool.IPRange } : {}),
    ...(Object.keys(aux).length ? { auxAddresses: aux } : {}),
  };
}

async function readNetworks(client: DockerClient): Promise<NetworkRecord[]> {
  const networks = await get<NetworkSummary[]>(client, 'listing networks', '/networks');
  return networks
    .filter((network) => !PREDEFINED_NETWORKS.has(network.Name) && !network.Ingress)
    .map((network) => ({
      id: network.Id,
      name: network.Name,
      driver: network.Driver ?? '',
      scope: network.Scope ?? '',
      internal: network.Internal ?? false,
      attachable: network.Attachable ?? false,
      enableIPv6: network.EnableIPv6 ?? false,
      ipam: {
        driver: network.IPAM?.Driver ?? 'default',
        options: sortedMap(network.IPAM?.Options),
        config: (network.IPAM?.Config ?? []).map(ipamPool),
      },
      options: sortedMap(network.Options),
      labels: sortedMap(network.Labels),
    }))
    .sort((a, b) => byString(a.name, b.name));
}

/** "docker.volumedriver/1.0" (or {Capability: "volumedriver"}) → "volumedriver". */
function pluginCapability(type: string | { Capability?: string }): string {
  if (typeof type !== 'string') return type.Capability ?? '';
  return /^(?:[^./]+\.)?([^/]+)/.exec(type)?.[1] ?? type;
}

/** Managed plugins (GET /plugins, API 1.25 and later). */
export async function readPlugins(client: DockerClient): Promise<PluginRecord[]> {
  const plugins = await get<PluginSummary[] | null>(client, 'listing plugins', '/plugins');
  return (plugins ?? [])
    .map((plugin) => ({
      id: plugin.Id ?? '',
      name: plugin.Name ?? '',
      enabled: plugin.Enabled ?? false,
      capabilities: [...new Set((plugin.Config?.Interface?.Types ?? []).map(pluginCapability).filter(Boolean))].sort(byString),
      reference: plugin.PluginReference ?? '',
    }))
    .sort((a, b) => byString(a.name, b.name));
}

export interface InventoryOptions {
  /** How long /system/df may take (default DISK_USAGE_TIMEOUT_MS). */
  diskUsageTimeoutMs?: number;
}

/** Everything the migration must carry over: images, containers, volumes and user-defined networks. */
export async function collectInventory(client: DockerClient, options: InventoryOptions = {}): Promise<Inventory> {
  const capturedAt = new Date().toISOString();
  const usage = await readDiskUsage(client, options.diskUsageTimeoutMs);
  const [daemon, images, containers, networks, plugins] = await Promise.all([
    readDaemonFacts(client),
    readImages(client, usage),
    readContainers(client, usage),
    readNetworks(client),
    readPlugins(client),
  ]);
  const volumes = await readVolumes(client, containers, usage);
  return {
    capturedAt,
    daemon,
    images,
    containers,
    volumes,
    networks,
    plugins,
    ...(usage.layersSize !== undefined ? { layersSize: usage.layersSize } : {}),
    ...(usage.note ? { sizesNotMeasured: usage.note } : {}),
  };
}
