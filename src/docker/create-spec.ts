/**
 * From a container's saved inspect to the `POST /containers/create` body that brings it back
 * (pure: no dockerode, no I/O). The rule throughout: pass back what the user set, not what the
 * daemon filled in, so the new container is the old one, not a
 * copy of the old daemon's bookkeeping.
 */
import { OperatorError } from '../errors.js';
import { copyJson } from '../json-copy.js';
import { compareApiVersions } from './api-version.js';

export { compareApiVersions } from './api-version.js';

/** `Config.Healthcheck`; durations in nanoseconds. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** A container's or an image's `Config`: typed where this tool reads it, open for the rest. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  /** Container-level MAC address: set only by the user (deprecated in API 1.44 for the per-endpoint one). */
  MacAddress?: string;
  [key: string]: unknown;
}

/** One `HostConfig.Mounts` entry (`--mount`). */
export interface MountSpec {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  [key: string]: unknown;
}

/** A container's `HostConfig`, as inspect shows it and create takes it. */
export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  NetworkMode?: string;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  Links?: string[] | null;
  VolumesFrom?: string[] | null;
  Mounts?: MountSpec[] | null;
  Tmpfs?: Record<string, string> | null;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  AutoRemove?: boolean;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  KernelMemory?: number;
  KernelMemoryTCP?: number;
  [key: string]: unknown;
}

/** One entry of `NetworkSettings.Networks` (inspect) or of `NetworkingConfig.EndpointsConfig` (create). */
export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  /** API 1.44+: the per-endpoint MAC address. */
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  /** API 1.45+: computed names (container name, short ID, aliases). */
  DNSNames?: string[] | null;
  [key: string]: unknown;
}

/** An entry of the inspect's `Mounts`: what is mounted now, anonymous volumes named. */
export interface InspectMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode?: string;
  RW: boolean;
  Propagation?: string;
}

/** `GET /containers/{id}/json`, recorded in full in the inventory; typed where this tool reads it. */
export interface ContainerInspect {
  Id: string;
  /** "/web" */
  Name: string;
  /** The image ID the container runs ("sha256:…"). */
  Image: string;
  Created?: string;
  State: { Status: string; Running: boolean; Paused?: boolean; Restarting?: boolean; ExitCode?: number; [key: string]: unknown };
  Config: ContainerConfig;
  HostConfig: HostConfig;
  Mounts?: InspectMount[] | null;
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/** The body of `POST /containers/create`. */
export type ContainerCreateBody = ContainerConfig & {
  Image: string;
  HostConfig: HostConfig;
  NetworkingConfig?: { EndpointsConfig: Record<string, EndpointSettings> };
};

/** What containerCreateSpec needs besides the inspect: facts of the target daemon and of the run. */
export interface CreateSpecOptions {
  /** The API version the create call will use ("1.41"): decides how networks and MACs are passed. */
  apiVersion: string;
  /** The image's inspect (its `Config`): lets values the image supplies be left to the image. */
  imageInspect?: { Config?: ContainerConfig | null };
  /**
   * The image ID `Config.Image` resolves to on the target daemon now; null when it resolves to
   * nothing. When it is not the container's image, the container is created by image ID. Leave
   * undefined when not checked: the reference is used as is.
   */
  tagNowPointsTo?: string | null;
  /** Old container ID → name, for `container:<id>` modes and `--volumes-from <id>`. */
  containerNames?: Record<string, string>;
  /** The target daemon's host name (`GET /info` Name): a host-network container's filled-in Hostname. */
  daemonHostname?: string;
  /** Volume names this container gets through `--volumes-from`: left to VolumesFrom, not pinned. */
  volumesFromVolumes?: string[];
}

/** A network to join after create (`POST /networks/{name}/connect`). */
export interface ExtraNetwork {
  name: string;
  endpointConfig: EndpointSettings;
}

/** The result of containerCreateSpec. */
export interface CreateSpec {
  /** The container's name, without the leading "/". */
  name: string;
  body: ContainerCreateBody;
  /** Networks to connect one by one after create (API < 1.44 takes one network at create). */
  extraNetworks: ExtraNetwork[];
  /** What was changed or cannot be kept, in words for the report. */
  notes: string[];
}

/** The API version from which create takes every network at once and MACs per endpoint. */
const MULTI_NETWORK_API = '1.44';

/** The build of `POST /containers/create` that recreates `inspect` (see the module comment). */
export function containerCreateSpec(inspect: ContainerInspect, options: CreateSpecOptions): CreateSpec {
  const notes: string[] = [];
  const name = inspect.Name.replace(/^\//, '');
  const shortId = inspect.Id.slice(0, 12);
  const resolve = containerResolver(options.containerNames ?? {});
  const hostConfig = cleanHostConfig(inspect, resolve, options, notes);
  const config = cleanConfig(inspect, hostConfig, options);
  const networks = networkingFor(inspect, hostConfig, config, shortId, options.apiVersion, notes);

  const image = imageFor(inspect, options, notes);
  const body: ContainerCreateBody = { ...config, Image: image, HostConfig: hostConfig };
  if (networks.endpoints) body.NetworkingConfig = { EndpointsConfig: networks.endpoints };
  return { name, body, extraNetworks: networks.extra, notes };
}

function imageFor(inspect: ContainerInspect, options: CreateSpecOptions, notes: string[]): string {
  const reference = inspect.Config.Image || inspect.Image;
  if (options.tagNowPointsTo === undefined || options.tagNowPointsTo === inspect.Image) return reference;
  notes.push(
    options.tagNowPointsTo === null
      ? `${reference} does not resolve on this daemon (a digest reference is lost by save/load): created from image ID ${inspect.Image}`
      : `${reference} now points to ${options.tagNowPointsTo}: created from its own image ID ${inspect.Image}`,
  );
  return inspect.Image;
}

/** Maps an old container ID (full or a prefix of 12+) to its name; anything else is already a name. */
function containerResolver(names: Record<string, string>): (ref: string) => string {
  const entries = Object.entries(names);
  return (ref) => {
    if (names[ref]) return names[ref];
    if (/^[0-9a-f]{12,64}$/.test(ref)) {
      const hit = entries.find(([id]) => id.startsWith(ref));
      if (hit) return hit[1];
      throw new OperatorError(
        `A container refers to container ${ref}, which is not among the containers being restored.`,
        'Include that container in containers.include (or exclude the containers that depend on it), then run again.',
      );
    }
    return ref.replace(/^\//, '');
  };
}

const isEmpty = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  value === '' ||
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0);

function rewriteContainerMode(mode: string | undefined, resolve: (ref: string) => string): string | undefined {
  if (!mode?.startsWith('container:')) return mode;
  return `container:${resolve(mode.slice('container:'.length))}`;
}

/** "/db:/app/database" (how the daemon records --link) → "db:database" (how create takes it). */
export function normalizeLink(link: string): string {
  const [target = '', alias = ''] = link.split(':');
  const targetName = target.replace(/^\//, '');
  const aliasName = alias.includes('/') ? alias.slice(alias.lastIndexOf('/') + 1) : alias;
  return aliasName ? `${targetName}:${aliasName}` : targetName;
}

function cleanHostConfig(inspect: ContainerInspect, resolve: (ref: string) => string, options: CreateSpecOptions, notes: string[]): HostConfig {
  const hc: HostConfig = copyJson(inspect.HostConfig);
  // The client writes that file; the daemon only records its name.
  delete hc.ContainerIDFile;
  // Filled in by the daemon with its defaults; passing them back would freeze this engine's
  // list. Empty lists are the user's `--security-opt systempaths=unconfined`: kept.
  for (const key of ['MaskedPaths', 'ReadonlyPaths'] as const) {
    if (!(Array.isArray(hc[key]) && hc[key].length === 0)) delete hc[key];
  }
  // Deprecated (API 1.42) and rejected by newer engines when set; zero means unset.
  for (const key of ['KernelMemory', 'KernelMemoryTCP'] as const) if (!hc[key]) delete hc[key];

  hc.NetworkMode = rewriteContainerMode(hc.NetworkMode, resolve);
  hc.IpcMode = rewriteContainerMode(hc.IpcMode, resolve);
  hc.PidMode = rewriteContainerMode(hc.PidMode, resolve);
  if (hc.Links?.length) hc.Links = hc.Links.map(normalizeLink);
  if (hc.VolumesFrom?.length) {
    hc.VolumesFrom = hc.VolumesFrom.map((entry) => {
      const [ref = '', mode] = entry.split(':');
      return mode ? `${resolve(ref)}:${mode}` : resolve(ref);
    });
  }
  pinAnonymousVolumes(inspect, hc, options.volumesFromVolumes, notes);
  return hc;
}

/** Destination of a `Binds` entry ("src:dst[:mode]"). */
const bindDestination = (bind: string): string => bind.split(':')[1] ?? '';
const cleanPath = (path: string): string => (path.length > 1 ? path.replace(/\/+$/, '') : path);

/**
 * Anonymous volumes (`-v /path`, `--mount type=volume,target=…`, the image's VOLUME) would get
 * a new random volume on create; their data is carried over under the old name, so the mount
 * is pinned to that name.
 */
function pinAnonymousVolumes(inspect: ContainerInspect, hc: HostConfig, fromOthers: string[] | undefined, notes: string[]): void {
  const mounts = (inspect.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name);
  if (!mounts.length) return;
  const byDestination = new Map(mounts.map((m) => [cleanPath(m.Destination), m]));
  const explicit = new Set<string>([
    ...(hc.Binds ?? []).map((b) => cleanPath(bindDestination(b))),
    ...Object.keys(hc.Tmpfs ?? {}).map(cleanPath),
  ]);
  const pinned: string[] = [];
  for (const spec of hc.Mounts ?? []) {
    const target = cleanPath(spec.Target);
    explicit.add(target);
    const current = byDestination.get(target);
    if (spec.Type === 'volume' && !spec.Source && current?.Name) {
      spec.Source = current.Name;
      pinned.push(`${target} → ${current.Name}`);
    }
  }
  const viaVolumesFrom = new Set(fromOthers ?? []);
  for (const [destination, mount] of byDestination) {
    if (explicit.has(destination) || viaVolumesFrom.has(mount.Name as string)) continue;
    const spec: MountSpec = { Type: 'volume', Source: mount.Name as string, Target: mount.Destination };
    if (!mount.RW) spec.ReadOnly = true;
    if (mount.Driver && mount.Driver !== 'local') spec.VolumeOptions = { DriverConfig: { Name: mount.Driver } };
    hc.Mounts = [...(hc.Mounts ?? []), spec];
    pinned.push(`${destination} → ${mount.Name}`);
  }
  if (pinned.length) {
    notes.push(
      `anonymous volume(s) pinned to their old names (${pinned.join(', ')}): they are now named mounts, ` +
        'so `docker rm -v` and --rm no longer delete them',
    );
  }
}

const isContainerMode = (mode: string | undefined) => mode?.startsWith('container:') ?? false;

function cleanConfig(inspect: ContainerInspect, hc: HostConfig, options: CreateSpecOptions): ContainerConfig {
  const config: ContainerConfig = copyJson(inspect.Config);
  delete config.Image;
  const joined = isContainerMode(hc.NetworkMode);
  // The daemon fills Hostname with the short ID, with the joined container's hostname in
  // `--network container:` mode, or with the host's name in host mode; the engine rejects a
  // hostname with `--network container:` and `--uts host`.
  if (
    config.Hostname === inspect.Id.slice(0, 12) ||
    joined ||
    hc.UTSMode === 'host' ||
    (hc.NetworkMode === 'host' && options.daemonHostname !== undefined && config.Hostname === options.daemonHostname)
  ) {
    delete config.Hostname;
  }
  if (!config.Domainname || joined) delete config.Domainname;
  // The image's EXPOSE is merged in even in container mode, where create rejects exposed ports.
  if (joined) delete config.ExposedPorts;
  if (joined || hc.NetworkMode === 'host') delete config.MacAddress;
  const image = options.imageInspect?.Config;
  return image ? leaveToImage(config, image) : config;
}

// ---- image defaults -------------------------------------------------------------------

const envKey = (entry: string): string => entry.split('=')[0] as string;

/**
 * The daemon's merge of an image's Config into a create request's Config (moby
 * daemon/commit.go `merge`, unchanged from 17.x to 25.x for these fields), as a pure function.
 */
export function mergeImageConfig(user: ContainerConfig, image: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = copyJson(user);
  if (!out.User) out.User = image.User;
  if (isEmpty(out.ExposedPorts)) out.ExposedPorts = image.ExposedPorts;
  else if (image.ExposedPorts) out.ExposedPorts = { ...image.ExposedPorts, ...out.ExposedPorts };
  if (!out.Env?.length) out.Env = image.Env;
  else {
    const keys = new Set(out.Env.map(envKey));
    out.Env = [...out.Env, ...(image.Env ?? []).filter((entry) => !keys.has(envKey(entry)))];
  }
  out.Labels = { ...(image.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = image.Cmd;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = image.Entrypoint;
  }
  if (image.Healthcheck) {
    if (!out.Healthcheck) out.Healthcheck = image.Healthcheck;
    else {
      const merged = { ...out.Healthcheck };
      if (!merged.Test?.length) merged.Test = image.Healthcheck.Test;
      for (const key of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) {
        if (!merged[key]) merged[key] = image.Healthcheck[key];
      }
      out.Healthcheck = merged;
    }
  }
  if (!out.WorkingDir) out.WorkingDir = image.WorkingDir;
  if (isEmpty(out.Volumes)) out.Volumes = image.Volumes;
  else out.Volumes = { ...out.Volumes, ...(image.Volumes ?? {}) };
  if (!out.StopSignal) out.StopSignal = image.StopSignal;
  return out;
}

/** JSON equality with "unset" forms (undefined, null, "", [], {}) equal to each other. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].every((key) => sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return a === b;
}

type Candidate = Partial<ContainerConfig>;

/** The fields the merge touches, each with the ways to leave part of it to the image. */
const IMAGE_FIELDS: { keys: (keyof ContainerConfig)[]; candidates: (c: ContainerConfig, i: ContainerConfig) => Candidate[] }[] = [
  { keys: ['User'], candidates: () => [{ User: undefined }] },
  { keys: ['WorkingDir'], candidates: () => [{ WorkingDir: undefined }] },
  { keys: ['StopSignal'], candidates: () => [{ StopSignal: undefined }] },
  { keys: ['Healthcheck'], candidates: () => [{ Healthcheck: undefined }] },
  {
    // Image entries come after the user's, so only a tail of the list can be the image's: the
    // shortest prefix that merges back into the same list, in the same order.
    keys: ['Env'],
    candidates: (c) => Array.from({ length: (c.Env?.length ?? 0) + 1 }, (_, k) => ({ Env: c.Env?.slice(0, k) })),
  },
  { keys: ['Labels'], candidates: (c, i) => [{ Labels: withoutEqualEntries(c.Labels, i.Labels) }] },
  { keys: ['ExposedPorts'], candidates: (c, i) => [{ ExposedPorts: withoutKeys(c.ExposedPorts, i.ExposedPorts) }] },
  { keys: ['Volumes'], candidates: (c, i) => [{ Volumes: withoutKeys(c.Volumes, i.Volumes) }] },
  // Cmd only goes with Entrypoint: with a user Entrypoint the daemon does not fill Cmd in, so
  // dropping Cmd alone would lose it.
  { keys: ['Entrypoint', 'Cmd'], candidates: () => [{ Entrypoint: undefined, Cmd: undefined }, { Entrypoint: undefined }] },
];

function withoutEqualEntries(own: Record<string, string> | null | undefined, image: Record<string, string> | null | undefined) {
  if (!own) return own;
  return Object.fromEntries(Object.entries(own).filter(([key, value]) => image?.[key] !== value));
}

function withoutKeys(own: Record<string, object> | null | undefined, image: Record<string, object> | null | undefined) {
  if (!own) return own;
  return Object.fromEntries(Object.entries(own).filter(([key]) => !image || !(key in image)));
}

/**
 * Leaves to the image what the image supplies: a value is dropped only when the daemon's own
 * merge (mergeImageConfig) puts exactly the same value back, so the container created from
 * the result is identical field by field; otherwise the value is kept as recorded.
 */
function leaveToImage(config: ContainerConfig, image: ContainerConfig): ContainerConfig {
  let reduced: ContainerConfig = { ...config };
  for (const field of IMAGE_FIELDS) {
    for (const candidate of field.candidates(config, image)) {
      const trial = { ...reduced, ...candidate };
      const merged = mergeImageConfig(trial, image);
      if (field.keys.every((key) => sameValue(merged[key], config[key]))) {
        reduced = trial;
        break;
      }
    }
  }
  for (const key of Object.keys(reduced)) {
    if (reduced[key] === undefined || (isEmpty(reduced[key]) && !isEmpty(config[key]))) delete reduced[key];
  }
  return reduced;
}

// ---- networks -------------------------------------------------------------------------

/** The MAC libnetwork derives from an IPv4 address (02:42 + the four bytes): not the user's. */
export function generatedMac(ipv4: string | undefined): string | undefined {
  const parts = ipv4?.split('.').map(Number);
  if (!parts || parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ['02', '42', ...parts.map((p) => p.toString(16).padStart(2, '0'))].join(':');
}

function isUserMac(endpoint: EndpointSettings): boolean {
  const mac = endpoint.MacAddress?.toLowerCase();
  if (!mac) return false;
  if (mac === generatedMac(endpoint.IPAddress)) return false;
  // Without an address (stopped container, IPv6-only) the daemon's 02:42 prefix is all there is to go by.
  return !(mac.startsWith('02:42:') && (!endpoint.IPAddress || !generatedMac(endpoint.IPAddress)));
}

/** What create takes for one endpoint: static addresses, user aliases, links, driver options. */
function endpointFor(endpoint: EndpointSettings, shortId: string): EndpointSettings {
  const out: EndpointSettings = {};
  const ipam = endpoint.IPAMConfig;
  if (ipam) {
    const kept = Object.fromEntries(Object.entries(ipam).filter(([, v]) => !isEmpty(v)));
    if (!isEmpty(kept)) out.IPAMConfig = kept;
  }
  const aliases = (endpoint.Aliases ?? []).filter((alias) => alias !== shortId);
  if (aliases.length) out.Aliases = aliases;
  if (endpoint.Links?.length) out.Links = [...endpoint.Links];
  if (!isEmpty(endpoint.DriverOpts)) out.DriverOpts = { ...endpoint.DriverOpts };
  return out;
}

interface Networking {
  endpoints?: Record<string, EndpointSettings>;
  extra: ExtraNetwork[];
}

function networkingFor(
  inspect: ContainerInspect,
  hc: HostConfig,
  config: ContainerConfig,
  shortId: string,
  apiVersion: string,
  notes: string[],
): Networking {
  const mode = hc.NetworkMode ?? 'default';
  if (isContainerMode(mode) || mode === 'host' || mode === 'none') return { extra: [] };
  const attached = inspect.NetworkSettings?.Networks ?? {};
  const names = Object.keys(attached).sort();
  if (!names.length) {
    notes.push(`was attached to no network: created on its network mode ${mode}`);
    return { extra: [] };
  }
  let primary = mode === 'default' ? 'bridge' : mode;
  if (!attached[primary]) {
    // Created with a network ID, or disconnected from its first network since.
    const byId = names.find((n) => attached[n]?.NetworkID && attached[n]?.NetworkID?.startsWith(mode));
    primary = byId ?? (names[0] as string);
    if (!(mode === 'default' && primary === 'bridge')) hc.NetworkMode = primary;
  }
  const multi = compareApiVersions(apiVersion, MULTI_NETWORK_API) >= 0;
  const endpoints: Record<string, EndpointSettings> = {};
  const extra: ExtraNetwork[] = [];
  for (const name of [primary, ...names.filter((n) => n !== primary)]) {
    const source = attached[name] as EndpointSettings;
    const endpoint = endpointFor(source, shortId);
    if (isUserMac(source) && source.MacAddress?.toLowerCase() !== config.MacAddress?.toLowerCase()) {
      if (multi) endpoint.MacAddress = source.MacAddress;
      else if (name === primary) config.MacAddress = source.MacAddress;
      else notes.push(`MAC address ${source.MacAddress} on network ${name} cannot be set before API ${MULTI_NETWORK_API}: not kept`);
    }
    if (name === primary || multi) endpoints[name] = endpoint;
    else extra.push({ name, endpointConfig: endpoint });
  }
  // "default" mode joins the default bridge by itself, which takes no aliases or addresses.
  if (mode === 'default' && isEmpty(endpoints.bridge)) delete endpoints.bridge;
  if (multi && config.MacAddress) {
    // API 1.44 deprecates the container-level MAC for the endpoint's.
    const first = (endpoints[primary] ??= {});
    first.MacAddress ??= config.MacAddress;
    delete config.MacAddress;
  }
  return { endpoints: isEmpty(endpoints) ? undefined : endpoints, extra };
}
