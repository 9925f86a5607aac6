/**
 * A container's inspect reduced to the fields the contract guarantees (docs/contract.md, "What a
 * finished run guarantees"), with what the daemon makes up by itself taken out: container IDs
 * become names, dynamic addresses, MACs, endpoint IDs and short-ID aliases go. Two inspects of
 * "the same" container, before and after a migration, normalize to equal values. Pure.
 */
import type { ContainerInspect } from '../docker/create-spec.js';

export interface NormalizedMount {
  type: string;
  /** The volume's name (volume mounts) or the host path (bind mounts); '' for tmpfs and the like. */
  source: string;
  rw: boolean;
}

export interface NormalizedEndpoint {
  /** User aliases, sorted, without the container's own (short) ID. */
  aliases: string[];
  /** Static addresses the user asked for (IPAMConfig); '' when dynamic. */
  ipv4: string;
  ipv6: string;
  linkLocal: string[];
}

export interface NormalizedContainer {
  name: string;
  /** The image reference the user gave (Config.Image). */
  image: string;
  /** The image ID the container runs. */
  imageId: string;
  cmd: string[] | null;
  entrypoint: string[] | null;
  /** Variable → value; a variable given without "=" maps to null. */
  env: Record<string, string | null>;
  labels: Record<string, string>;
  workingDir: string;
  user: string;
  /** "no", "always", "unless-stopped", "on-failure", "on-failure:3". */
  restartPolicy: string;
  /** By destination. */
  mounts: Record<string, NormalizedMount>;
  /** "80/tcp" → ["127.0.0.1:8080"], host addresses sorted. */
  ports: Record<string, string[]>;
  publishAllPorts: boolean;
  /** HostConfig.NetworkMode with a container ID replaced by that container's name. */
  networkMode: string;
  /** By network name. */
  networks: Record<string, NormalizedEndpoint>;
  /** Resource limits by HostConfig key; unset (null, 0, "", []) is null. */
  resources: Record<string, string | number | boolean | null>;
  running: boolean;
}

/** HostConfig keys of resource limits; each is compared on its own. */
export const RESOURCE_KEYS = [
  'Memory',
  'MemoryReservation',
  'MemorySwap',
  'MemorySwappiness',
  'KernelMemory',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'CpuCount',
  'CpuPercent',
  'PidsLimit',
  'BlkioWeight',
  'BlkioWeightDevice',
  'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps',
  'OomKillDisable',
  'OomScoreAdj',
  'ShmSize',
  'Ulimits',
] as const;

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Resolves a container ID (full or a prefix of 12+) to a name, through `idToName`. */
function nameOfId(ref: string, idToName: ReadonlyMap<string, string>): string {
  const exact = idToName.get(ref);
  if (exact) return exact;
  if (/^[0-9a-f]{12,64}$/.test(ref)) for (const [id, name] of idToName) if (id.startsWith(ref)) return name;
  return ref.replace(/^\//, '');
}

function containerMode(mode: string | undefined, idToName: ReadonlyMap<string, string>): string {
  // "default" is the bridge network on Linux, and Engine 25+ reports it so (a container created as "default" reads back "bridge").
  if (!mode || mode === 'default') return 'bridge';
  return mode.startsWith('container:') ? `container:${nameOfId(mode.slice('container:'.length), idToName)}` : mode;
}

const list = (value: string[] | null | undefined): string[] | null => (value && value.length ? [...value] : null);

function envMap(env: string[] | null | undefined): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of env ?? []) {
    const eq = item.indexOf('=');
    if (eq < 0) out[item] = null;
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function sortedMap<T>(map: Record<string, T> | null | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(map ?? {}).sort(byString)) out[key] = map![key]!;
  return out;
}

function restartPolicy(policy: { Name: string; MaximumRetryCount?: number } | undefined): string {
  const name = policy?.Name || 'no';
  return name === 'on-failure' && policy?.MaximumRetryCount ? `on-failure:${policy.MaximumRetryCount}` : name;
}

function mounts(inspect: ContainerInspect): Record<string, NormalizedMount> {
  const out: Record<string, NormalizedMount> = {};
  const sorted = [...(inspect.Mounts ?? [])].sort((a, b) => byString(a.Destination, b.Destination));
  for (const mount of sorted) {
    // A volume is the same volume by name wherever the data-root keeps it; a bind by its host path.
    const source = mount.Type === 'volume' ? (mount.Name ?? '') : mount.Type === 'bind' ? mount.Source : '';
    out[mount.Destination] = { type: mount.Type, source, rw: mount.RW };
  }
  return out;
}

interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

function ports(bindings: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const map = (bindings ?? {}) as Record<string, PortBinding[] | null>;
  for (const port of Object.keys(map).sort(byString)) {
    out[port] = (map[port] ?? []).map((b) => `${b.HostIp ?? ''}:${b.HostPort ?? ''}`).sort(byString);
  }
  return out;
}

function networks(inspect: ContainerInspect): Record<string, NormalizedEndpoint> {
  // The daemon adds the container's short ID as an alias (API ≤ 1.44): not the user's.
  const own = new Set([inspect.Id, inspect.Id.slice(0, 12)]);
  const out: Record<string, NormalizedEndpoint> = {};
  const endpoints = inspect.NetworkSettings?.Networks ?? {};
  for (const name of Object.keys(endpoints).sort(byString)) {
    const endpoint = endpoints[name]!;
    out[name] = {
      aliases: (endpoint.Aliases ?? []).filter((alias) => !own.has(alias)).sort(byString),
      ipv4: endpoint.IPAMConfig?.IPv4Address ?? '',
      ipv6: endpoint.IPAMConfig?.IPv6Address ?? '',
      linkLocal: [...(endpoint.IPAMConfig?.LinkLocalIPs ?? [])].sort(byString),
    };
  }
  return out;
}

/** One resource value, with the several spellings of "unset" made one. */
function resourceValue(key: string, value: unknown): string | number | boolean | null {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return null;
  if (Array.isArray(value)) return value.length ? JSON.stringify(value) : null;
  // -1 is "unlimited" for the pids limit and "kernel default" for swappiness, like unset.
  if ((key === 'PidsLimit' || key === 'MemorySwappiness') && value === -1) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/** The contract's fields of a container; `idToName` maps the IDs of its daemon's containers to names. */
export function normalizeContainer(inspect: ContainerInspect, idToName: ReadonlyMap<string, string>): NormalizedContainer {
  const config = inspect.Config ?? {};
  const host = inspect.HostConfig ?? {};
  const resources: NormalizedContainer['resources'] = {};
  for (const key of RESOURCE_KEYS) resources[key] = resourceValue(key, host[key]);
  return {
    name: inspect.Name.replace(/^\//, ''),
    image: config.Image ?? '',
    imageId: inspect.Image,
    cmd: list(config.Cmd),
    entrypoint: list(config.Entrypoint),
    env: sortedMap(envMap(config.Env)),
    labels: sortedMap(config.Labels),
    workingDir: config.WorkingDir ?? '',
    user: config.User ?? '',
    restartPolicy: restartPolicy(host.RestartPolicy),
    mounts: mounts(inspect),
    ports: ports(host.PortBindings),
    publishAllPorts: host.PublishAllPorts === true,
    networkMode: containerMode(host.NetworkMode, idToName),
    networks: networks(inspect),
    resources,
    running: inspect.State?.Running === true,
  };
}
