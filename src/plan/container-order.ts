/**
 * In which order containers are created, started and stopped (pure). A container depends on
 * the one whose network, IPC or PID namespace it joins (`container:<x>` modes), on those it
 * links to, and on those it takes volumes from: dependencies are created and started first,
 * and stopped last.
 */

import type { ContainerInspect } from '../docker/create-spec.js';

/** What ordering needs of a container: a ContainerRecord fits, and so does a flattened inspect. */
export interface OrderableContainer {
  name: string;
  id?: string;
  /** HostConfig.NetworkMode ("container:<id or name>" makes a dependency). */
  networkMode?: string;
  ipcMode?: string;
  pidMode?: string;
  /** HostConfig.Links as recorded ("/db:/app/database") or as given ("db:database"). */
  links?: readonly string[];
  /** HostConfig.VolumesFrom ("db", "db:ro", or an ID). */
  volumesFrom?: readonly string[];
}

const containerOf = (mode: string | undefined): string | undefined =>
  mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined;

/** The names of the containers `container` depends on, among `all` (others are ignored). */
export function dependenciesOf(container: OrderableContainer, all: readonly OrderableContainer[]): string[] {
  const find = (ref: string): string | undefined => {
    const bare = ref.replace(/^\//, '');
    const match =
      all.find((c) => c.name === bare) ??
      all.find((c) => c.id === bare) ??
      (/^[0-9a-f]{12,64}$/.test(bare) ? all.find((c) => c.id?.startsWith(bare)) : undefined);
    return match?.name;
  };
  const refs = [
    containerOf(container.networkMode),
    containerOf(container.ipcMode),
    containerOf(container.pidMode),
    ...(container.links ?? []).map((link) => link.split(':')[0]),
    ...(container.volumesFrom ?? []).map((entry) => entry.split(':')[0]),
  ];
  const names = new Set<string>();
  for (const ref of refs) {
    const name = ref ? find(ref) : undefined;
    if (name && name !== container.name) names.add(name);
  }
  return [...names].sort();
}

/**
 * Names in the order to create and start them: every container after the ones it depends on;
 * among containers free to go, by name. A dependency cycle (which the engine itself does not
 * allow, but a hand-edited inventory might hold) is broken at the first name in order.
 */
export function startOrder(containers: readonly OrderableContainer[]): string[] {
  const pending = new Map(containers.map((c) => [c.name, new Set(dependenciesOf(c, containers))]));
  const order: string[] = [];
  while (pending.size) {
    const names = [...pending.keys()].sort();
    const next = names.find((name) => (pending.get(name) as Set<string>).size === 0) ?? (names[0] as string);
    order.push(next);
    pending.delete(next);
    for (const deps of pending.values()) deps.delete(next);
  }
  return order;
}

/** How many containers are stopped at once, at most (a host with hundreds must not flood the daemon). */
export const STOP_WAVE_WIDTH = 8;

/**
 * Names in waves to stop at once: a wave holds containers on which nothing still running
 * depends (dependents go first: the start order, reversed), at most `width` each. Stopping a wave at once
 * costs its slowest container's stop timeout instead of the sum of them all.
 */
export function stopWaves(containers: readonly OrderableContainer[], width: number = STOP_WAVE_WIDTH): string[][] {
  const dependents = new Map<string, string[]>(containers.map((c) => [c.name, []]));
  for (const container of containers) {
    for (const dependency of dependenciesOf(container, containers)) dependents.get(dependency)?.push(container.name);
  }
  return wavesOf(containers, dependents, width);
}

/**
 * Peels `containers` into waves: each wave holds those none of whose `blockers` is still left
 * (by name; at most `width` each). A cycle (impossible for the engine, possible in a
 * hand-edited inventory) is broken at the first name left.
 */
function wavesOf(containers: readonly OrderableContainer[], blockers: ReadonlyMap<string, readonly string[]>, width: number): string[][] {
  const left = new Set(containers.map((c) => c.name));
  const waves: string[][] = [];
  while (left.size) {
    const names = [...left].sort();
    const free = names.filter((name) => !(blockers.get(name) ?? []).some((blocker) => left.has(blocker)));
    const wave = free.length ? free : [names[0] as string];
    for (let i = 0; i < wave.length; i += width) waves.push(wave.slice(i, i + width));
    for (const name of wave) left.delete(name);
  }
  return waves;
}

/** What ordering needs of a container, taken from its recorded inspect. */
export function orderableOf(inspect: ContainerInspect): OrderableContainer {
  return {
    name: inspect.Name.replace(/^\//, ''),
    id: inspect.Id,
    networkMode: inspect.HostConfig.NetworkMode,
    ipcMode: inspect.HostConfig.IpcMode,
    pidMode: inspect.HostConfig.PidMode,
    links: inspect.HostConfig.Links ?? [],
    volumesFrom: inspect.HostConfig.VolumesFrom ?? [],
  };
}

/**
 * Names in waves to start at once: a wave holds containers whose dependencies all started in
 * earlier waves (at most `width` each), so a container that shares another's network, IPC or PID
 * namespace, links to it or takes its volumes starts after it.
 */
export function startWaves(containers: readonly OrderableContainer[], width: number = STOP_WAVE_WIDTH): string[][] {
  return wavesOf(containers, new Map(containers.map((c) => [c.name, dependenciesOf(c, containers)])), width);
}
