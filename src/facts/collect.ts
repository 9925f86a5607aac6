/** Gathers preflight's facts from a live host: the Docker API, then the machine through a Host. */
import { daemonJsonStorage, parseDaemonJson } from '../config/daemon-json.js';
import { dockerdArgsOf, execStartArgv, parseDockerdArgs, serviceCommand } from '../config/dockerd-flags.js';
import { openDockerDoors } from '../docker/doors.js';
import type { DaemonFacts, Inventory } from '../docker/types.js';
import { OperatorError, UsageError } from '../errors.js';
import type { Host } from '../host/host.js';
import { gatherHostFacts, gatherPreflightFacts, readJournal, readUnit } from './gather.js';
import type { PreflightFacts } from './types.js';

export interface CollectOptions {
  dockerHost: string;
  daemonConfigPath: string;
  backupDirectory: string;
  stateDirectory?: string;
  targetDevice?: string;
}

/** dockerd's default data-root. */
const DEFAULT_DATA_ROOT = '/var/lib/docker';

/**
 * Connects to Docker and reads its inventory, then the host's configuration, processes,
 * filesystems and devices. When Docker does not answer, the host is read all the same (the
 * data-root from the configuration, and Docker's journal) and `daemonDown` says why: a daemon
 * that refuses to start is exactly when an operator needs the report.
 */
export async function collectPreflightFacts(host: Host, options: CollectOptions): Promise<PreflightFacts> {
  let inventory: Inventory;
  try {
    inventory = await (await openDockerDoors(options.dockerHost)).system.inventory();
  } catch (error) {
    if (!(error instanceof OperatorError) || error instanceof UsageError) throw error;
    return collectWithDaemonDown(host, options, error);
  }
  return gatherPreflightFacts(host, { daemon: inventory.daemon, inventory }, options);
}

async function collectWithDaemonDown(host: Host, options: CollectOptions, error: OperatorError): Promise<PreflightFacts> {
  const dataRoot = await configuredDataRoot(host, options.daemonConfigPath);
  const hostFacts = await gatherHostFacts(host, { ...options, dataRoot });
  hostFacts.journal = await readJournal(host).catch((e: Error) => {
    hostFacts.problems.push({ probe: 'journalctl -u docker', message: e.message });
    return { read: false };
  });
  const daemon = unknownDaemon(dataRoot);
  return {
    collectedAt: new Date().toISOString(),
    docker: { daemon, inventory: { capturedAt: new Date().toISOString(), daemon, images: [], containers: [], volumes: [], networks: [] } },
    host: hostFacts,
    daemonDown: { message: error.message, remedy: error.remedy },
  };
}

/** The data-root the next start would use: daemon.json's data-root (or graph), else the unit's flag, else the default. */
async function configuredDataRoot(host: Host, daemonConfigPath: string): Promise<string> {
  const text = await host.readFile(daemonConfigPath).catch(() => undefined);
  const parse = text === undefined ? undefined : parseDaemonJson(text);
  const fromJson = parse?.ok ? daemonJsonStorage(parse.value).dataRoot : undefined;
  if (fromJson) return fromJson;
  const service = serviceCommand(await readUnit(host, 'docker.service').catch(() => []));
  if (service.execStart) {
    const flags = parseDockerdArgs(dockerdArgsOf(execStartArgv(service.execStart, service.environment))).storageFlags;
    const flag = flags.filter((f) => f.setting === 'data-root').at(-1);
    if (flag) return flag.value;
  }
  return DEFAULT_DATA_ROOT;
}

/** Empty daemon facts: nothing is known of a daemon that did not answer. */
function unknownDaemon(dataRoot: string): DaemonFacts {
  return {
    serverVersion: '',
    apiVersion: '',
    driver: '',
    driverStatus: [],
    dockerRootDir: dataRoot,
    liveRestore: false,
    swarmState: '',
    kernelVersion: '',
    operatingSystem: '',
    securityOptions: [],
    containers: { total: 0, running: 0, paused: 0, stopped: 0 },
    images: 0,
  };
}
