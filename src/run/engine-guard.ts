/**
 * Rollback after an engine upgrade: the rollback puts the source driver back, and an engine
 * that removed that driver (devicemapper: v25) stops at its next start on it, leaving the host
 * without Docker. Such a rollback is refused before it changes anything, with the way out.
 */
import { OperatorError } from '../errors.js';
import { daemonVersion } from '../docker/daemon-status.js';
import type { Host } from '../host/host.js';
import { parseVersion } from '../preflight/analysis.js';
import { ENGINE_REMOVALS, engineVersion } from '../preflight/engine-removals.js';

/**
 * The major release of the first engine without the driver, read from preflight's table of
 * engine removals (one table, so that preflight and rollback cannot disagree), or undefined.
 * Only confirmed removals count: a rollback is refused for what an engine does, not a plan.
 */
function driverRemovedIn(driver: string): number | undefined {
  const row = ENGINE_REMOVALS.find((removal) => removal.storageDriver === driver && removal.confirmed);
  return row ? engineVersion(row.removedIn)?.[0] : undefined;
}

/** True when some engine release removed the driver (then a rollback to it needs the engine checked). */
export function driverWasRemoved(driver: string): boolean {
  return driverRemovedIn(driver) !== undefined;
}

/** dockerd's words when it starts on a driver it removed (moby v25, for devicemapper). */
const REFUSAL_AT_START = 'failed to start daemon: error initializing graphdriver: [graphdriver] ERROR: the devicemapper storage-driver has been deprecated and removed';

/** An engine on the host: the daemon that answers, or the dockerd that the next start runs. */
export interface EngineSeen {
  version: string;
  state: 'running' | 'installed';
  /** The installed dockerd's path. */
  path?: string;
}

export interface RollbackSubject {
  runId: string;
  /** The driver the rollback puts back. */
  sourceDriver: string;
  /** The driver the run moved to (what the host runs now). */
  targetDriver: string;
  /** The engine the run started with, e.g. "20.10.24". */
  sourceVersion: string;
}

/** The refusal when an engine on the host cannot start on the driver the rollback puts back, else undefined. */
export function engineRefusesRollback(run: RollbackSubject, engines: readonly EngineSeen[]): OperatorError | undefined {
  const removedIn = driverRemovedIn(run.sourceDriver);
  if (removedIn === undefined) return undefined;
  const blocking = engines.find((engine) => (parseVersion(engine.version)?.major ?? 0) >= removedIn);
  if (!blocking) return undefined;
  const where = blocking.state === 'installed' && blocking.path ? ` (${blocking.path})` : '';
  const startError = run.sourceDriver === 'devicemapper' ? `: dockerd would stop with "${REFUSAL_AT_START}"` : '';
  return new OperatorError(
    `Run ${run.runId} cannot be rolled back while Docker Engine ${blocking.version} is ${blocking.state}${where}: ` +
      `the rollback puts the ${run.sourceDriver} storage driver back, and Engine v${removedIn} and newer cannot start on it${startError}. ` +
      `Nothing was changed: the host stays on ${run.targetDriver}.`,
    [
      'Put the old engine back first, then roll back:',
      `    1. Stop Docker, install the engine this run started with (${run.sourceVersion}; at most 24.x for ${run.sourceDriver}) and hold it there ` +
        '(e.g. `yum downgrade docker-ce-<version> docker-ce-cli-<version>` and `yum versionlock add docker-ce docker-ce-cli`, ' +
        'or `apt-get install docker-ce=<version> docker-ce-cli=<version>` and `apt-mark hold docker-ce docker-ce-cli`), ' +
        `start Docker, and check that \`docker version\` shows ${run.sourceVersion} and \`dockerd --version\` the same.`,
      `    2. Run \`devmapper-migrate rollback ${run.runId}\` again.`,
      `  Or keep the upgrade: the host already runs ${run.targetDriver}; \`devmapper-migrate status\` says what is left.`,
    ].join('\n'),
  );
}

/** The engine that answers at dockerHost, and the dockerd on PATH that the next start runs. */
export async function enginesOnHost(host: Host, dockerHost: string): Promise<EngineSeen[]> {
  const engines: EngineSeen[] = [];
  const running = await daemonVersion(dockerHost);
  if (running) engines.push({ version: running, state: 'running' });
  const path = await host.which('dockerd');
  if (path) {
    const result = await host.run(path, ['--version'], { timeoutMs: 60_000 });
    const version = result.exitCode === 0 ? parseVersion(result.stdout)?.raw : undefined;
    if (version) engines.push({ version, state: 'installed', path });
  }
  return engines;
}
