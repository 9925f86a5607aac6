/**
 * What every step of a migration works with: the run's state, the host, the Docker daemon,
 * the resolved answers and the recorded inventory. Built by `run` for a new run and by
 * `resume`/`rollback` from the run's files, so a later process sees exactly what the first did.
 */
import type { AnswerSecrets, ResolvedAnswers } from '../config/answers-types.js';
import { daemonAnswers } from '../docker/daemon-status.js';
import { openDockerDoors, type DockerDoors } from '../docker/doors.js';
import type { Host } from '../host/host.js';
import type { ServiceManager } from '../host/service-manager.js';
import type { Plan } from '../plan/plan.js';
import type { BaseStepContext } from './step.js';
import type { RecordedInventory } from '../record/run-files.js';

/** Facts about the daemon found before the run changed anything; kept in state.json's notes. */
export interface DaemonPlace {
  /** The data-root the daemon runs with (`docker info` Docker Root Dir). */
  dataRoot: string;
  /** dockerd's pid file (its --pidfile flag, daemon.json `pidfile`, else /var/run/docker.pid). */
  pidFile: string;
  /** The daemon configuration file the run rewrites (--daemon-config). */
  configPath: string;
  /** The storage driver before the run. */
  sourceDriver: string;
  /** The driver the run moves to: "overlay2", or "devicemapper" on a fresh direct-lvm pool. */
  targetDriver: string;
  /** The running engine's version, e.g. "20.10.24". */
  serverVersion: string;
  /** The program the serving dockerd runs (else the unit's or PATH's dockerd), for `--validate` on 23+. */
  dockerdBinary?: string;
}

export interface MigrationContext extends BaseStepContext {
  host: Host;
  answers: ResolvedAnswers;
  /** Secrets the wizard asked for in this process; never saved. */
  secrets: AnswerSecrets;
  recorded: RecordedInventory;
  /** The run's plan (plan.json): the steps execute its parameters. */
  plan: Plan;
  daemon: DaemonPlace;
  service: ServiceManager;
  dockerHost: string;
  /** The environment secrets are read from (passwordEnv). */
  env: NodeJS.ProcessEnv;
  /** Aborted by Ctrl+C: long steps stop at the next safe point. */
  signal: AbortSignal;
  /** The doors of a connected client (reconnects after the daemon was restarted). */
  docker(): Promise<DockerDoors>;
  /** Forget the connection: the daemon was stopped or restarted. */
  forgetDocker(): void;
  /** True when the daemon answers /_ping now (each attempt with its own short timeout). */
  daemonAnswers(timeoutMs?: number): Promise<boolean>;
}

/**
 * A lazily connected Docker client that can be dropped when the daemon restarts. `dockerHost`
 * may change during a run (rescue mode: the side daemon's socket until stop-daemon): it is read
 * at each connect.
 */
export function dockerConnection(dockerHost: string | (() => string)): Pick<MigrationContext, 'docker' | 'forgetDocker' | 'daemonAnswers'> {
  const current = typeof dockerHost === 'string' ? () => dockerHost : dockerHost;
  let client: Promise<DockerDoors> | undefined;
  let connectedTo: string | undefined;
  return {
    docker() {
      if (connectedTo !== current()) client = undefined;
      connectedTo = current();
      client ??= openDockerDoors(connectedTo).catch((error: unknown) => {
        client = undefined;
        throw error;
      });
      return client;
    },
    forgetDocker() {
      client = undefined;
    },
    daemonAnswers: (timeoutMs = 2_000) => daemonAnswers(current(), timeoutMs),
  };
}
