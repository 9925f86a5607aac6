/** Gathers preflight's facts from a live host: the Docker API, then the machine through a Host. */
import { openDockerDoors } from '../docker/doors.js';
import type { Host } from '../host/host.js';
import { gatherPreflightFacts } from './gather.js';
import type { PreflightFacts } from './types.js';

export interface CollectOptions {
  dockerHost: string;
  daemonConfigPath: string;
  backupDirectory: string;
  stateDirectory?: string;
  targetDevice?: string;
}

/** Connects to Docker (an OperatorError naming the socket when it does not answer), reads its
 * inventory, then the host's configuration, processes, filesystems and devices. */
export async function collectPreflightFacts(host: Host, options: CollectOptions): Promise<PreflightFacts> {
  const inventory = await (await openDockerDoors(options.dockerHost)).system.inventory();
  return gatherPreflightFacts(host, { daemon: inventory.daemon, inventory }, options);
}
