/**
 * A private dockerd beside the host's own: started by the tool on a data-root of its choosing,
 * reachable only through a socket in the run's own directory, and stopped again by the tool.
 * Two uses share it: rescue (a legacy engine on the old data-root, when the installed engine
 * can no longer read it) and pre-staging (the host's engine on the target data-root while the
 * host's daemon still serves).
 *
 * What keeps it out of the host's way (moby's daemon flags):
 * - its own `-H unix://<dir>/docker.sock`, `--exec-root` and `--pidfile`, so it shares no socket,
 *   no runtime state and no pid file with the host's daemon;
 * - its own containerd namespaces when the engine knows the flags (20.10+): an engine that finds
 *   the system containerd socket uses it, and the host's daemon's "moby" namespace must not be
 *   touched; older engines start their own containerd under the exec-root;
 * - `--bridge none --iptables=false --ip-masq=false`: no docker0, no firewall rules, so it
 *   changes nothing of the host's network;
 * - `--config-file` of its own holding only the storage settings: the host's daemon.json (hosts,
 *   TLS, a bridge address) is not read;
 * - its data-root's driver is checked by the caller (GET /info) before anything is done with it.
 *
 * Start and stop go through the service manager's `command` kind, so the side daemon is waited
 * for exactly like the host's: up when GET /_ping answers, a fatal log line or a vanished process
 * is an error carrying the log's end, down when its process is gone and its socket is quiet.
 */
import type { Host } from './host.js';
import { startDocker, stopDocker, type ServiceManager, type StartResult, type StopResult } from './service-manager.js';

/** Where a side daemon keeps everything of its own: one directory per daemon under the run's. */
export interface SideDaemonLayout {
  /** `<runtime dir>/<name>`, e.g. /run/devmapper-migrate/<run>/source. */
  dir: string;
  socketPath: string;
  /** `unix://<socketPath>`, for src/docker. */
  dockerHost: string;
  execRoot: string;
  pidFile: string;
  configFile: string;
  logFile: string;
  /** containerd namespace for containers, and one for plugins: dmm-<run>-<name>[-plugins]. */
  namespace: string;
}

export interface SideDaemonSpec {
  /** What it is for, in paths and messages: "source" (rescue) or "staging". */
  name: string;
  /** The run's id: namespaces name it, so two runs never share one. */
  runId: string;
  /** The directory for the run's side daemons, e.g. /run/devmapper-migrate/<run>. */
  runtimeDir: string;
  /** The dockerd binary: the legacy engine's (rescue) or the host's own (staging). */
  dockerd: string;
  dataRoot: string;
  storageDriver: string;
  storageOpts: readonly string[];
}

/** The flags an engine knows, from its `--help`: older engines lack some of ours. */
export interface DockerdFlags {
  /** `--data-root` (17.05+); older engines call it `--graph`. */
  dataRoot: boolean;
  /** `--containerd-namespace` and `--containerd-plugins-namespace` (20.10+). */
  containerdNamespaces: boolean;
}

export function sideDaemonLayout(spec: Pick<SideDaemonSpec, 'name' | 'runId' | 'runtimeDir'>): SideDaemonLayout {
  const dir = `${spec.runtimeDir}/${spec.name}`;
  const socketPath = `${dir}/docker.sock`;
  return {
    dir,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    execRoot: `${dir}/exec`,
    pidFile: `${dir}/docker.pid`,
    configFile: `${dir}/daemon.json`,
    logFile: `${dir}/dockerd.log`,
    namespace: `dmm-${spec.runId}-${spec.name}`,
  };
}

/** Reads which of our flags the engine knows from `dockerd --help` (an engine that cannot even print it is an error then, at start). */
export async function dockerdFlags(host: Host, dockerd: string): Promise<DockerdFlags> {
  const help = await host.run(dockerd, ['--help'], { timeoutMs: 30_000 });
  const text = `${help.stdout}\n${help.stderr}`;
  return { dataRoot: /--data-root\b/.test(text), containerdNamespaces: /--containerd-namespace\b/.test(text) };
}

/** dockerd's arguments for a side daemon (exported for the plan's and --dry-run's text). */
export function sideDaemonArgs(spec: SideDaemonSpec, flags: DockerdFlags): string[] {
  const layout = sideDaemonLayout(spec);
  return [
    '-H', layout.dockerHost,
    flags.dataRoot ? '--data-root' : '--graph', spec.dataRoot,
    '--exec-root', layout.execRoot,
    '--pidfile', layout.pidFile,
    '--config-file', layout.configFile,
    ...(flags.containerdNamespaces
      ? ['--containerd-namespace', layout.namespace, '--containerd-plugins-namespace', `${layout.namespace}-plugins`]
      : []),
    '--bridge', 'none',
    '--iptables=false',
    '--ip-masq=false',
  ];
}

/** The storage settings, and nothing else: the host's own daemon.json is not read. */
export function sideDaemonConfig(spec: SideDaemonSpec): string {
  const config: Record<string, unknown> = { 'storage-driver': spec.storageDriver };
  if (spec.storageOpts.length > 0) config['storage-opts'] = [...spec.storageOpts];
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Start and stop as shell lines for the `command` manager: setsid and a log file, as a service
 * manager would run it; the stop signals only a process whose command line names our directory
 * (pids are reused).
 */
export function sideDaemonManager(spec: SideDaemonSpec, flags: DockerdFlags): ServiceManager {
  const layout = sideDaemonLayout(spec);
  const command = [spec.dockerd, ...sideDaemonArgs(spec, flags)].map(shellWord).join(' ');
  const startCommand = `setsid ${command} >>${shellWord(layout.logFile)} 2>&1 </dev/null &`;
  const stopCommand = [
    `pid=$(cat ${shellWord(layout.pidFile)} 2>/dev/null) || exit 0`,
    `grep -qF -- ${shellWord(`${layout.dir}/`)} "/proc/$pid/cmdline" 2>/dev/null || exit 0`,
    'kill -TERM "$pid"',
  ].join('; ');
  return {
    kind: 'command',
    reason: `a private dockerd (${spec.name}) on ${spec.dataRoot}`,
    startCommand,
    stopCommand,
    startCommands: [startCommand],
    stopCommands: [stopCommand],
  };
}

export interface SideDaemonWait {
  timeoutSeconds: number;
  /** GET /_ping on the side daemon's socket (through src/docker). */
  ping: () => Promise<boolean>;
  say?: (line: string) => void;
}

/**
 * Starts the side daemon and waits until it answers. Its directory is made private (0700): the
 * socket in it is root's alone. Throws DaemonStartError with the end of its log when it dies.
 */
export async function startSideDaemon(host: Host, spec: SideDaemonSpec, wait: SideDaemonWait): Promise<StartResult> {
  const layout = sideDaemonLayout(spec);
  await host.mkdir(spec.runtimeDir, { mode: 0o700 });
  await host.mkdir(layout.dir, { mode: 0o700 });
  await host.writeFile(layout.configFile, sideDaemonConfig(spec), { mode: 0o600 });
  const flags = await dockerdFlags(host, spec.dockerd);
  return startDocker(host, sideDaemonManager(spec, flags), {
    timeoutSeconds: wait.timeoutSeconds,
    pidFile: layout.pidFile,
    logFile: layout.logFile,
    ping: wait.ping,
    say: wait.say,
  });
}

/** Stops the side daemon (when it runs) and waits until its process is gone and its socket quiet. */
export async function stopSideDaemon(
  host: Host,
  spec: SideDaemonSpec,
  wait: { timeoutSeconds: number; answers: () => Promise<boolean>; say?: (line: string) => void },
): Promise<StopResult> {
  const layout = sideDaemonLayout(spec);
  // The flags do not matter for the stop line; the pid file and the directory do.
  return stopDocker(host, sideDaemonManager(spec, { dataRoot: true, containerdNamespaces: true }), {
    timeoutSeconds: wait.timeoutSeconds,
    pidFile: layout.pidFile,
    answers: wait.answers,
    say: wait.say,
  });
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The start and stop commands as the run's log shows them (the `command` manager runs each through `sh -c`), for the plan. */
export function sideDaemonShownCommands(spec: SideDaemonSpec, flags: DockerdFlags): { start: string; stop: string } {
  const manager = sideDaemonManager(spec, flags);
  const quoted = (text: string) => `sh -c '${text.replace(/'/g, `'\\''`)}'`;
  return { start: quoted(manager.startCommand!), stop: quoted(manager.stopCommand!) };
}
