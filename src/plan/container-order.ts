/**
 * In which order containers are created, started and stopped (pure). A container depends on
 * the one whose network, IPC or PID namespace it joins (`container:<x>` modes), on those it
 * links to, and on those it takes volumes from: dependencies are created and started first,
 * and stopped last.
 */

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

/** Names in the order to stop them: dependents before what they depend on (start order reversed). */
export function stopOrder(containers: readonly OrderableContainer[]): string[] {
  return startOrder(containers).reverse();
}
