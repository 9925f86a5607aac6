// What an engine upgrade must keep, read from two `dmm_engine_state` dumps of one guest: the
// fields of images, containers, networks and volumes that the contract promises, without the
// ones a daemon restart renews (ids of endpoints, start times, pids, sandbox keys).
import { outputFile } from './results.js';
import type { GuestResult } from './vm.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function dump(result: GuestResult, label: string, what: string): Json[] {
  return JSON.parse(outputFile(result, `engine-${label}/${what}.json`)) as Json[];
}

function byName<T>(items: [string, T][]): Record<string, T> {
  return Object.fromEntries(items.sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Engine 26's own change: it reports the "default" network mode as "bridge" (FACTS: the one
 * difference seen). A container's short id in its aliases is renewed with each endpoint.
 */
function container(c: Json): Json {
  const networks = (c.NetworkSettings?.Networks ?? {}) as Record<string, Json>;
  const shortId = String(c.Id).slice(0, 12);
  return {
    id: c.Id,
    image: c.Image,
    config: {
      Image: c.Config.Image,
      Cmd: c.Config.Cmd,
      Entrypoint: c.Config.Entrypoint,
      Env: c.Config.Env,
      Labels: c.Config.Labels,
      WorkingDir: c.Config.WorkingDir,
      User: c.Config.User,
      ExposedPorts: c.Config.ExposedPorts,
    },
    hostConfig: {
      RestartPolicy: c.HostConfig.RestartPolicy,
      Binds: c.HostConfig.Binds,
      PortBindings: c.HostConfig.PortBindings,
      NetworkMode: c.HostConfig.NetworkMode === 'default' ? 'bridge' : c.HostConfig.NetworkMode,
      Memory: c.HostConfig.Memory,
      NanoCpus: c.HostConfig.NanoCpus,
      CpuShares: c.HostConfig.CpuShares,
      Privileged: c.HostConfig.Privileged,
    },
    mounts: (c.Mounts as Json[]).map((m) => ({ Type: m.Type, Name: m.Name, Destination: m.Destination, RW: m.RW })),
    networks: byName(
      Object.entries(networks).map(([name, n]) => [
        name,
        {
          NetworkID: n.NetworkID,
          IPAMConfig: n.IPAMConfig,
          Aliases: ((n.Aliases as string[] | null) ?? []).filter((a) => a !== shortId),
          IPAddress: n.IPAddress,
          MacAddress: n.MacAddress,
        },
      ]),
    ),
    running: c.State.Running,
    exitCode: c.State.ExitCode,
  };
}

const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'];

/** The promised parts of every image, container, network and volume, by name. */
export function engineState(result: GuestResult, label: string): Json {
  return {
    images: byName(dump(result, label, 'images').map((i) => [i.Id, { tags: [...(i.RepoTags as string[])].sort(), layers: i.RootFS?.Layers }])),
    containers: byName(dump(result, label, 'containers').map((c) => [c.Name, container(c)])),
    // User-defined networks: the predefined bridge is made anew at every daemon start (new id),
    // and Engine 26 reports the predefined ones' empty IPAM config as null.
    networks: byName(
      dump(result, label, 'networks')
        .filter((n) => !PREDEFINED_NETWORKS.includes(n.Name as string))
        .map((n) => [
          n.Name,
          { Id: n.Id, Driver: n.Driver, Internal: n.Internal, EnableIPv6: n.EnableIPv6, IPAM: n.IPAM, Options: n.Options, Labels: n.Labels },
        ]),
    ),
    volumes: byName(dump(result, label, 'volumes').map((v) => [v.Name, { Driver: v.Driver, Labels: v.Labels, Options: v.Options, Mountpoint: v.Mountpoint }])),
    volumeFiles: outputFile(result, `engine-${label}/volume-files.txt`),
  };
}

/** The server version a dump was taken on, e.g. "26.1.5+dfsg1". */
export function engineVersion(result: GuestResult, label: string): string {
  return outputFile(result, `engine-${label}/version.txt`).trim();
}

/**
 * The same, without what a run's recreation renews: container and network ids and the MAC
 * addresses Engine 26 draws at random (image ids are their content and stay).
 */
export function recreatedState(result: GuestResult, label: string): Json {
  const state = engineState(result, label);
  for (const c of Object.values(state.containers as Record<string, Json>)) {
    delete c.id;
    for (const n of Object.values(c.networks as Record<string, Json>)) {
      delete n.NetworkID;
      delete n.MacAddress;
    }
  }
  for (const n of Object.values(state.networks as Record<string, Json>)) delete n.Id;
  return state;
}
