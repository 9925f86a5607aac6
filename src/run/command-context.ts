/** Global options every command receives, resolved from the command line and environment. */
export interface GlobalOptions {
  stateDir: string;
  dockerHost: string;
  daemonConfig: string;
  json: boolean;
  verbose: boolean;
  color: boolean;
  /**
   * Where "/" is for system files (test-only, from DEVMAPPER_MIGRATE_HOST_ROOT): lets tests
   * run the real commands against fixture trees. Always "/" in production.
   */
  hostRoot: string;
  /**
   * Where the run's side daemons keep their socket, exec-root, pid file and log: a rescue's
   * legacy dockerd in <runtimeDir>/<run-id>/source/, pre-staging's in <runtimeDir>/<run-id>/staging/
   * (/run/devmapper-migrate unless DEVMAPPER_MIGRATE_RUNTIME_DIR says otherwise: tests give a
   * short path inside their rig daemon's directory, whose teardown and sweeper kill what names
   * it; a unix socket path must stay under 108 bytes).
   */
  runtimeDir?: string;
}

/** Where the side daemons of a run live: /run/devmapper-migrate/<run-id>/ (tmpfs: gone at a reboot, as a daemon's runtime state should be). */
export const DEFAULT_RUNTIME_DIR = '/run/devmapper-migrate';

export const DEFAULT_STATE_DIR = '/var/lib/devmapper-migrate';
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
export const DEFAULT_DAEMON_CONFIG = '/etc/docker/daemon.json';

/** What a command handler gets: the global options and somewhere to write. */
export interface CommandContext {
  options: GlobalOptions;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}
