/**
 * Containers through the API: record them in full, recreate one from its record, start and
 * stop them. Every call here is safe to repeat, so a resumed run can go through it again.
 */
import type Docker from 'dockerode';
import { OperatorError } from '../errors.js';
import { containerCreateSpec, type ContainerConfig, type ContainerInspect, type CreateSpec, type EndpointSettings } from './create-spec.js';

export type { ContainerInspect, CreateSpec } from './create-spec.js';

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number }).statusCode;
const messageOf = (error: unknown): string => (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;

/** The API version requests go out with: the client's pinned one, else the daemon's own. */
export async function effectiveApiVersion(client: Docker): Promise<string> {
  const pinned = (client.modem as { version?: string }).version;
  if (pinned) return pinned.replace(/^v/, '');
  return (await client.version()).ApiVersion;
}

/** The full `GET /containers/{id}/json` of each container, in the order given. */
export async function inspectContainers(client: Docker, ids: readonly string[]): Promise<ContainerInspect[]> {
  const out: ContainerInspect[] = [];
  for (const id of ids) {
    try {
      out.push((await client.getContainer(id).inspect()) as unknown as ContainerInspect);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      throw new OperatorError(`Container ${id} no longer exists.`, 'Something removed it since the inventory was taken; run the command again.');
    }
  }
  return out;
}

/** How recreateContainer reads the record; everything else it asks the target daemon. */
export interface RecreateOptions {
  /** Old container ID → name of every container being restored (for `container:<id>` references). */
  containerNames?: Record<string, string>;
  /** Defaults to the API version the client talks (effectiveApiVersion). */
  apiVersion?: string;
  /** Leave values the image supplies to the image (default true); false passes the recorded Config whole. */
  leaveDefaultsToImage?: boolean;
  /** Receives the spec's notes (what was pinned, what could not be kept). */
  onNote?(note: string): void;
}

/** The ID an image reference resolves to on this daemon, or null when it resolves to nothing. */
async function resolveImage(client: Docker, ref: string): Promise<{ Id: string; Config?: ContainerConfig | null } | null> {
  try {
    return (await client.getImage(ref).inspect()) as unknown as { Id: string; Config?: ContainerConfig | null };
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** The container named exactly `name` (GET /containers/{name} would also match an ID prefix). */
async function findContainer(client: Docker, name: string): Promise<ContainerInspect | undefined> {
  const list = await client.listContainers({ all: true, filters: JSON.stringify({ name: [name] }) });
  const hit = list.find((c) => c.Names.includes(`/${name}`));
  return hit ? ((await client.getContainer(hit.Id).inspect()) as unknown as ContainerInspect) : undefined;
}

/** Volume names the VolumesFrom providers (already recreated) carry: left to VolumesFrom. */
async function volumesFromVolumes(client: Docker, volumesFrom: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const entry of volumesFrom) {
    const provider = await findContainer(client, entry.split(':')[0] as string);
    for (const mount of provider?.Mounts ?? []) if (mount.Type === 'volume' && mount.Name) names.push(mount.Name);
  }
  return names;
}

/** Builds the create spec from what this daemon says about the image, the host and the other containers. */
export async function recreateSpec(client: Docker, inspect: ContainerInspect, options: RecreateOptions = {}): Promise<CreateSpec> {
  const apiVersion = options.apiVersion ?? (await effectiveApiVersion(client));
  const image = await resolveImage(client, inspect.Image);
  if (!image) {
    throw new OperatorError(
      `Image ${inspect.Config.Image ?? ''} (${inspect.Image}) of container ${inspect.Name.replace(/^\//, '')} is not on this daemon.`,
      'Restore the images first (the run does this before the containers), or include that image, then resume.',
    );
  }
  const reference = inspect.Config.Image;
  const tagNowPointsTo = reference && reference !== inspect.Image ? ((await resolveImage(client, reference))?.Id ?? null) : undefined;
  const mode = inspect.HostConfig.NetworkMode;
  const daemonHostname = mode === 'host' ? ((await client.info()) as { Name?: string }).Name : undefined;
  const renamed = (inspect.HostConfig.VolumesFrom ?? []).map((entry) => {
    const [ref = '', flag] = entry.split(':');
    const name = options.containerNames?.[ref] ?? Object.entries(options.containerNames ?? {}).find(([id]) => id.startsWith(ref))?.[1] ?? ref;
    return flag ? `${name}:${flag}` : name;
  });
  return containerCreateSpec(inspect, {
    apiVersion,
    imageInspect: options.leaveDefaultsToImage === false ? undefined : image,
    tagNowPointsTo,
    containerNames: options.containerNames,
    daemonHostname,
    volumesFromVolumes: await volumesFromVolumes(client, renamed),
  });
}

async function connectMissing(client: Docker, id: string, spec: CreateSpec, attached: Record<string, EndpointSettings>): Promise<void> {
  for (const extra of spec.extraNetworks) {
    if (attached[extra.name]) continue;
    try {
      await client.getNetwork(extra.name).connect({ Container: id, EndpointConfig: extra.endpointConfig as Docker.EndpointSettings });
    } catch (error) {
      throw new OperatorError(
        `Container ${spec.name} could not be connected to network ${extra.name}: ${messageOf(error)}`,
        'Check that the network was recreated (it is restored before the containers), then resume.',
      );
    }
  }
}

/**
 * Creates the container again under its name from its recorded inspect and connects its other
 * networks; does not start it. Returns the new ID. A container already there under that name
 * with the same image is taken to be this one from an interrupted attempt (its missing
 * networks are connected); one with another image is an OperatorError.
 */
export async function recreateContainer(client: Docker, inspect: ContainerInspect, options: RecreateOptions = {}): Promise<string> {
  const spec = await recreateSpec(client, inspect, options);
  for (const note of spec.notes) options.onNote?.(`${spec.name}: ${note}`);
  const existing = await findContainer(client, spec.name);
  if (existing) {
    if (existing.Image !== inspect.Image) {
      throw new OperatorError(
        `A container named ${spec.name} already exists on this daemon, from another image (${existing.Image}).`,
        `Rename or remove it (docker rm ${spec.name}) so the original can be recreated, then resume.`,
      );
    }
    await connectMissing(client, existing.Id, spec, existing.NetworkSettings?.Networks ?? {});
    return existing.Id;
  }
  let id: string;
  try {
    const created = await new Promise<{ Id: string; Warnings?: string[] | null }>((resolve, reject) => {
      // Through the modem, not createContainer(), which also copies the whole body into the query string.
      client.modem.dial(
        {
          path: '/containers/create?',
          method: 'POST',
          options: { _query: { name: spec.name }, _body: spec.body },
          statusCodes: { 200: true, 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict', 500: 'server error' },
        },
        (error: unknown, data: unknown) => (error ? reject(error) : resolve(data as { Id: string })),
      );
    });
    id = created.Id;
    for (const warning of created.Warnings ?? []) options.onNote?.(`${spec.name}: Docker warns: ${warning}`);
  } catch (error) {
    throw new OperatorError(
      `Docker refused to recreate container ${spec.name}: ${messageOf(error)}`,
      'The saved configuration is kept in the run’s inventory; fix the cause (a missing network, volume or image) and resume.',
    );
  }
  await connectMissing(client, id, spec, {});
  return id;
}

/** Per container: started now, or found running (a resumed run). */
export type StartResult = 'started' | 'already-running';
/** Per container: stopped now, found stopped, or gone (a --rm container removes itself on stop). */
export type StopResult = 'stopped' | 'already-stopped' | 'gone';

/** Starts the named containers one after the other, in the order given (see startOrder). */
export async function startContainers(client: Docker, names: readonly string[]): Promise<Record<string, StartResult>> {
  const results: Record<string, StartResult> = {};
  for (const name of names) {
    try {
      await client.getContainer(name).start();
      results[name] = 'started';
    } catch (error) {
      if (statusOf(error) === 304) {
        results[name] = 'already-running';
        continue;
      }
      throw new OperatorError(`Container ${name} did not start: ${messageOf(error)}`, `Look at \`docker logs ${name}\`, fix the cause and resume.`);
    }
  }
  return results;
}

/**
 * Stops containers wave after wave (see stopWaves), every container of a wave at once. Without
 * `timeoutSeconds` each gets its own stop timeout (its Config.StopTimeout, else the engine's
 * default) before SIGKILL, as `docker stop` does. A container already stopped is fine; one that
 * is gone (a --rm container removes itself when it stops) is reported as 'gone'. A container
 * that will not stop fails the call once its wave has finished.
 */
export async function stopContainers(client: Docker, waves: readonly (readonly string[])[], timeoutSeconds?: number): Promise<Record<string, StopResult>> {
  const results: Record<string, StopResult> = {};
  const options = timeoutSeconds === undefined ? {} : { t: timeoutSeconds };
  for (const wave of waves) {
    const failures: OperatorError[] = [];
    await Promise.all(
      wave.map(async (name) => {
        try {
          await client.getContainer(name).stop(options);
          results[name] = 'stopped';
        } catch (error) {
          const status = statusOf(error);
          if (status === 304) results[name] = 'already-stopped';
          else if (status === 404) results[name] = 'gone';
          else failures.push(new OperatorError(`Container ${name} did not stop: ${messageOf(error)}`, `Stop it by hand (docker stop ${name}) and resume.`));
        }
      }),
    );
    if (failures.length) throw failures[0];
  }
  return results;
}

/** The ones among `names` that are paused now (one that is gone is not). */
export async function pausedContainers(client: Docker, names: readonly string[]): Promise<string[]> {
  const paused: string[] = [];
  for (const name of names) {
    try {
      const inspect = (await client.getContainer(name).inspect()) as unknown as ContainerInspect;
      if (inspect.State.Paused) paused.push(name);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
  return paused;
}

/** Unpauses the named containers (POST /containers/{name}/unpause); one that is not paused any more is fine. */
export async function unpauseContainers(client: Docker, names: readonly string[]): Promise<void> {
  for (const name of await pausedContainers(client, names)) {
    try {
      await client.getContainer(name).unpause();
    } catch (error) {
      throw new OperatorError(`Container ${name} could not be unpaused: ${messageOf(error)}`, `Unpause it by hand (docker unpause ${name}) and resume.`);
    }
  }
}

/**
 * Pauses the named containers again (POST /containers/{name}/pause): those that run and are not
 * paused already (a resumed step finds some paused). Returns the ones that could not be paused,
 * with the daemon's words.
 */
export async function pauseContainers(client: Docker, names: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  for (const name of names) {
    try {
      const inspect = (await client.getContainer(name).inspect()) as unknown as ContainerInspect;
      if (!inspect.State.Running || inspect.State.Paused) continue;
      await client.getContainer(name).pause();
    } catch (error) {
      failed.push(`${name} (${messageOf(error)})`);
    }
  }
  return failed;
}
