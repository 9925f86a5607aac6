/**
 * The effectful half of verify: reads the host now (the daemon's inventory and inspects, the
 * volumes' files, the Docker configuration) and hands both sides to the pure comparison.
 * Read-only: nothing here changes the host.
 */
import type { DockerDoors } from '../docker/doors.js';
import type { Inventory } from '../docker/types.js';
import { gatherHostFacts } from '../facts/gather.js';
import type { Host } from '../host/host.js';
import type { RecordedInventory, VerifyExpectation } from '../record/run-files.js';
import { compareHost, type CurrentHost } from './compare.js';
import { configStateOf } from './config-state.js';
import { describeVolume } from './trees.js';
import type { RecordedVolumeTrees, VerifyResult } from './types.js';

export interface VerifyHostInput {
  /** Read only: the inventory and the carried containers' inspects. */
  docker: DockerDoors;
  /** Reads the configuration files (daemon.json, units, /etc/sysconfig, /etc/default). */
  host: Host;
  /** The run's inventory.json. */
  recorded: RecordedInventory;
  /** The run's volume-trees.json, when it was written: the volumes' files are then compared too. */
  volumeTrees?: RecordedVolumeTrees;
  /** The volumes' files as read earlier (before the containers started); read now when absent. */
  volumeTreesNow?: CurrentVolumeTrees;
  expect: VerifyExpectation;
  /** --daemon-config. */
  daemonConfigPath: string;
}

/** Compares the host with the run's recorded inventory and returns every difference as a report entry. */
export async function verifyHost(input: VerifyHostInput): Promise<VerifyResult> {
  const { docker, recorded } = input;
  const inventory = await docker.system.inventory();

  const byName = new Map(inventory.containers.map((c) => [c.name, c.id]));
  const ids = recorded.selection.containers.map((name) => byName.get(name)).filter((id): id is string => id !== undefined);
  const inspects = await docker.containers.inspect(ids);

  const current: CurrentHost = { inventory, inspects };
  if (input.volumeTrees) {
    current.volumeTrees = input.volumeTreesNow ?? (await describeVolumesNow(inventory, recorded.selection.volumes, input.volumeTrees));
  }
  if (input.expect.configMustBeClean) {
    const dataRoot = inventory.daemon.dockerRootDir;
    const host = await gatherHostFacts(input.host, {
      dockerHost: docker.address,
      daemonConfigPath: input.daemonConfigPath,
      dataRoot,
      backupDirectory: dataRoot,
    });
    current.config = configStateOf(host, { daemon: inventory.daemon, inventory });
  }
  return compareHost({ recorded, volumeTrees: input.volumeTrees, expect: input.expect, current });
}

export type CurrentVolumeTrees = NonNullable<CurrentHost['volumeTrees']>;

/**
 * Reads the recorded files of the volumes `names` as they are now, at the daemon's Mountpoint
 * (wherever the new data-root put it).
 */
export async function describeVolumesNow(inventory: Inventory, names: readonly string[], volumeTrees: RecordedVolumeTrees): Promise<CurrentVolumeTrees> {
  const mountpoints = new Map(inventory.volumes.map((v) => [v.name, v.mountpoint]));
  const selected = new Set(names);
  const trees: CurrentVolumeTrees = {};
  for (const tree of volumeTrees.volumes) {
    const path = mountpoints.get(tree.name);
    if (!selected.has(tree.name) || path === undefined || tree.error) continue;
    const now = await describeVolume({ name: tree.name, path }, { content: volumeTrees.content });
    trees[tree.name] = { path, entries: now.entries, error: now.error };
  }
  return trees;
}
