// The contract's fields of a container (CONTRACT.md, "What a finished run guarantees"), as the
// tests compare them before and after a migration: independent of the tool's own verify.
import type { ContainerInspect } from '../../src/docker/containers.js';

/** The contract's fields of a container, with daemon-specific IDs replaced by names. */
export function normalize(inspect: ContainerInspect, idToName: Map<string, string>) {
  const byId = (ref: string) => [...idToName].find(([id]) => id === ref || id.startsWith(ref))?.[1] ?? ref;
  const containerRef = (mode: string | undefined) => (mode?.startsWith('container:') ? `container:${byId(mode.slice(10))}` : mode);
  const shortIds = new Map([...idToName].map(([id, name]) => [id.slice(0, 12), name]));
  const networks = inspect.NetworkSettings?.Networks ?? {};
  return {
    image: inspect.Config.Image,
    imageId: inspect.Image,
    cmd: inspect.Config.Cmd,
    entrypoint: inspect.Config.Entrypoint,
    env: inspect.Config.Env,
    labels: inspect.Config.Labels,
    workingDir: inspect.Config.WorkingDir,
    user: inspect.Config.User,
    hostname: shortIds.has(inspect.Config.Hostname ?? '') ? `<short ID of ${shortIds.get(inspect.Config.Hostname ?? '')}>` : inspect.Config.Hostname,
    exposedPorts: inspect.Config.ExposedPorts,
    restartPolicy: inspect.HostConfig.RestartPolicy,
    memory: inspect.HostConfig.Memory,
    nanoCpus: inspect.HostConfig.NanoCpus,
    pidsLimit: inspect.HostConfig.PidsLimit,
    portBindings: inspect.HostConfig.PortBindings,
    networkMode: containerRef(inspect.HostConfig.NetworkMode),
    links: inspect.HostConfig.Links,
    volumesFrom: inspect.HostConfig.VolumesFrom,
    mounts: (inspect.Mounts ?? [])
      .map((m) => ({ type: m.Type, name: m.Name ?? null, source: m.Type === 'bind' ? m.Source : null, destination: m.Destination, rw: m.RW }))
      .sort((a, b) => a.destination.localeCompare(b.destination)),
    networks: Object.fromEntries(
      Object.entries(networks).map(([name, e]) => [
        name,
        { aliases: (e.Aliases ?? []).filter((a) => !shortIds.has(a)).sort(), staticIPv4: e.IPAMConfig?.IPv4Address || null },
      ]),
    ),
    running: inspect.State.Running,
    paused: inspect.State.Paused ?? false,
  };
}

