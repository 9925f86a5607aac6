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
   * Where a rescue's side daemon keeps its socket, pid file and exec-root: <runtimeDir>/<run-id>/
   * (/run/devmapper-migrate unless DEVMAPPER_MIGRATE_RUNTIME_DIR says otherwise, for tests:
   * a unix socket path must stay under 108 bytes).
   */
  runtimeDir?: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/devmapper-migrate';
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
export const DEFAULT_DAEMON_CONFIG = '/etc/docker/daemon.json';

/** What a command handler gets: the global options and somewhere to write. */
export interface CommandContext {
  options: GlobalOptions;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}
