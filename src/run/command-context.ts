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
   * Where the private dockerd of pre-staging keeps its socket, exec-root, pid file and log:
   * <runtimeDir>/<run-id>/staging/ (DEVMAPPER_MIGRATE_RUNTIME_DIR; tests give a short path
   * inside their rig daemon's directory, whose teardown and sweeper kill what names it).
   */
  runtimeDir?: string;
}

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
