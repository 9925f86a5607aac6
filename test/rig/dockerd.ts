// Private Docker daemons for tests: each with its own socket, data-root, exec-root, pidfile,
// config file and default bridge, so that several can run at once on one machine next to
// other people's daemons. The daemon is always started through its own start.sh (detached,
// like a service manager would), so the scripts the tool's `command` service manager uses
// are the ones the rig itself relies on.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiJson, apiRequest, ping } from './api.js';
import { removeTree } from './mounts.js';
import { bridgeName, claimSlot, createBridge, removeBridges, slotDir, slotOf, slotPrefix } from './net.js';
import { DOCKER_CLIENT, DOCKERD, writeOwner } from './paths.js';
import { cmdline, descendants, findProcesses, isAlive, killTrees, run, terminate } from './proc.js';

export interface DaemonOptions {
  /** A label for logs and listings; need not be unique. */
  name: string;
  /**
   * Written to the config file (not a flag), so the tool can rewrite it like on a real host;
   * undefined: the config file names no driver (a `service` shape gives it as a flag).
   */
  storageDriver: string | undefined;
  /** More daemon.json keys, merged over the rig's defaults. Do not set bridge/bip/hosts here. */
  daemonConfig?: Record<string, unknown>;
  /** More dockerd flags, after the rig's own. */
  extraArgs?: string[];
  /** The dockerd binary (default: Debian's, Engine 20.10); e.g. Engine 26's from engine26.ts. */
  dockerd?: string;
  /** The process this daemon's life is tied to for the sweeper (default: this process). */
  ownerPid?: number;
  /**
   * How start.sh runs dockerd when a service definition stands around it (RHEL's docker.service,
   * see rhel-host.ts); called once the daemon's directory exists, before the first start.
   */
  service?: (info: DaemonInfo) => ServiceShape;
}

/** What a unit adds around dockerd: units it wants started first, environment files, a wrapper, words. */
export interface ServiceShape {
  /** Shell lines start.sh runs before every start (as systemd starts a unit that docker.service Wants= first). */
  beforeStart: string;
  /** Files whose assignments start.sh reads before the start, in order (EnvironmentFile=-FILE: missing ones are skipped). */
  environmentFiles: string[];
  /** The program start.sh runs instead of dockerd (a wrapper such as RHEL's dockerd-current). */
  executable: string;
  /** Words after the rig's own flags, expanded by bash after the environment files ("$OPTIONS $DOCKER_STORAGE_OPTIONS"). */
  trailingWords: string;
}

/** Everything about a rig daemon that can cross a process boundary (plain data). */
export interface DaemonInfo {
  name: string;
  /** The daemon's private directory; everything below it goes away on stop(). */
  dir: string;
  slot: number;
  /** unix:///.../docker.sock */
  dockerHost: string;
  socketPath: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  configFile: string;
  logFile: string;
  /** Starts the daemon detached and waits until it answers (exit 1 with the log tail if it dies). */
  startScript: string;
  /** Stops the daemon and waits until the process is gone. */
  stopScript: string;
  /** A private docker CLI config dir (registry logins stay out of ~/.docker). */
  clientConfig: string;
  /** The daemon's default bridge (docker0's stand-in). */
  bridge: string;
  /** "10.K": tests take subnets 10.K.1.0/24 … 10.K.127.0/24 (see subnetFor). */
  subnetPrefix: string;
}

export interface DaemonHandle extends DaemonInfo {
  /** The running daemon's pid, read from its pidfile (changes when it is restarted). */
  readonly pid: number;
  /** Tears everything down: daemon, containerd, shims, mounts, bridges, the directory. */
  stop(): Promise<void>;
  /** Stops the daemon process only (stop.sh); data and config stay. */
  stopDaemon(): Promise<void>;
  /** Starts the daemon again (start.sh) and waits until it answers. */
  startDaemon(): Promise<void>;
  restartDaemon(): Promise<void>;
  /** The last lines of the daemon's log, for failure messages. */
  logTail(lines?: number): string;
  /** A plain copy of the handle's data (for provide/inject or JSON). */
  info(): DaemonInfo;
}

/** The n-th test subnet of a daemon (1 ≤ n ≤ 127): "10.K.n.0/24". */
export function subnetFor(daemon: Pick<DaemonInfo, 'subnetPrefix'>, n: number): string {
  if (n < 1 || n > 127) throw new Error(`subnet index ${n} out of 1..127`);
  return `${daemon.subnetPrefix}.${n}.0/24`;
}

const META_FILE = 'daemon.meta.json';

function layout(slot: number, name: string): DaemonInfo {
  const dir = slotDir(slot);
  const socketPath = join(dir, 'docker.sock');
  return {
    name,
    dir,
    slot,
    dockerHost: `unix://${socketPath}`,
    socketPath,
    dataRoot: join(dir, 'root'),
    execRoot: join(dir, 'exec'),
    pidFile: join(dir, 'docker.pid'),
    configFile: join(dir, 'daemon.json'),
    logFile: join(dir, 'dockerd.log'),
    startScript: join(dir, 'start.sh'),
    stopScript: join(dir, 'stop.sh'),
    clientConfig: join(dir, 'client'),
    bridge: bridgeName(slot),
    subnetPrefix: slotPrefix(slot),
  };
}

/** Quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function dockerdArgs(info: DaemonInfo, extraArgs: readonly string[]): string[] {
  return [
    '-H', info.dockerHost,
    '--data-root', info.dataRoot,
    '--exec-root', info.execRoot,
    '--pidfile', info.pidFile,
    '--config-file', info.configFile,
    '--iptables=false',
    '--bridge', info.bridge,
    ...extraArgs,
  ];
}

/** A bash function for both scripts: whether process $1 is gone, or a zombie (it has ended; only the reaping is left). */
const BASH_GONE = `gone() { [ ! -e "/proc/$1" ] || grep -q '^[^)]*) [ZX]' "/proc/$1/stat" 2>/dev/null; }`;

function startScriptText(info: DaemonInfo, dockerd: string, args: readonly string[], shape?: ServiceShape): string {
  const q = shellQuote;
  const environment = (shape?.environmentFiles ?? []).map((file) => `[ -f ${q(file)} ] && . ${q(file)}`).join('\n');
  const command = `${q(shape ? shape.executable : dockerd)} ${args.map(q).join(' ')}${shape?.trailingWords ? ` ${shape.trailingWords}` : ''}`;
  return `#!/bin/bash
# Starts the rig daemon "${info.name}" detached (as a service manager would) and waits until it
# answers; exits 1 with the end of its log when it dies or does not answer within 120 s.
set -u
pidfile=${q(info.pidFile)}
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \\
   && grep -qF -- ${q(info.dir + '/')} "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
  echo "dockerd ${info.name} already runs (pid $(cat "$pidfile"))"
  exit 0
fi
# This machine's init reaps orphans late, so a daemon killed with SIGKILL can leave its
# pid file, and its containerd's, naming a zombie. dockerd takes a zombie for a live process:
# it refuses its own pid file, or waits on the dead containerd's socket until "timeout waiting
# for containerd to start". A pid file that names no running process is stale: drop it.
${BASH_GONE}
for stale in "$pidfile" ${q(join(info.execRoot, 'containerd', 'containerd.pid'))}; do
  if [ -s "$stale" ] && gone "$(cat "$stale")"; then rm -f "$stale"; fi
done
echo "--- start.sh $(date -u +%FT%TZ)" >> ${q(info.logFile)}
${shape ? `${shape.beforeStart}
${environment}
` : ''}setsid ${command} >> ${q(info.logFile)} 2>&1 < /dev/null &
pid=$!
for _ in $(seq 1 600); do
  if ${DOCKER_CLIENT} -H ${q(info.dockerHost)} version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "dockerd ${info.name} exited during startup; end of ${info.logFile}:" >&2
    tail -n 20 ${q(info.logFile)} >&2
    exit 1
  fi
  sleep 0.2
done
echo "dockerd ${info.name} did not answer within 120 s; end of ${info.logFile}:" >&2
tail -n 20 ${q(info.logFile)} >&2
exit 1
`;
}

function stopScriptText(info: DaemonInfo): string {
  const q = shellQuote;
  return `#!/bin/bash
# Stops the rig daemon "${info.name}" and waits until its process is gone (SIGKILL after 120 s).
set -u
pidfile=${q(info.pidFile)}
[ -s "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
# Only a process that is this daemon (pids are reused).
grep -qF -- ${q(info.dir + '/')} "/proc/$pid/cmdline" 2>/dev/null || exit 0
${BASH_GONE}
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 1200); do gone "$pid" && exit 0; sleep 0.1; done
echo "dockerd ${info.name} did not stop within 120 s; killing it" >&2
kill -KILL "$pid" 2>/dev/null
for _ in $(seq 1 100); do gone "$pid" && exit 0; sleep 0.1; done
exit 1
`;
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function runScript(path: string, what: string): Promise<void> {
  const result = await run('bash', [path], { timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
}

/** Starts a private dockerd and waits until it answers /_ping. */
export async function startDockerd(options: DaemonOptions): Promise<DaemonHandle> {
  const slot = await claimSlot();
  const info = layout(slot, options.name);
  try {
    writeOwner(info.dir, 'daemon', options.name, options.ownerPid);
    mkdirSync(info.clientConfig, { recursive: true });
    writeFileSync(join(info.clientConfig, 'config.json'), '{}\n');
    const config = {
      ...(options.storageDriver !== undefined && { 'storage-driver': options.storageDriver }),
      'default-address-pools': [{ base: `${info.subnetPrefix}.128.0/17`, size: 24 }],
      ...options.daemonConfig,
    };
    writeFileSync(info.configFile, JSON.stringify(config, null, 2) + '\n');
    writeExecutable(info.startScript, startScriptText(info, options.dockerd ?? DOCKERD, dockerdArgs(info, options.extraArgs ?? []), options.service?.(info)));
    writeExecutable(info.stopScript, stopScriptText(info));
    writeFileSync(join(info.dir, META_FILE), JSON.stringify(info, null, 2) + '\n');
    await createBridge(slot);
    await runScript(info.startScript, `starting dockerd ${options.name}`);
    if (!(await ping(info.socketPath, 10_000))) throw new Error(`dockerd ${options.name} does not answer /_ping`);
  } catch (error) {
    const message = (error as Error).message;
    // start.sh already quotes the log when dockerd dies; other failures get its end here.
    const log = message.includes(`end of ${info.logFile}`) ? '' : `\n--- end of ${info.logFile} ---\n${tail(info.logFile, 20)}`;
    await teardownDaemonDir(info.dir).catch(() => undefined);
    throw new Error(`${message}${log}`);
  }
  return makeHandle(info);
}

function makeHandle(info: DaemonInfo): DaemonHandle {
  return {
    ...info,
    get pid() {
      return readPid(info.pidFile) ?? 0;
    },
    stop: () => teardownDaemonDir(info.dir),
    stopDaemon: () => runScript(info.stopScript, `stopping dockerd ${info.name}`),
    startDaemon: () => runScript(info.startScript, `starting dockerd ${info.name}`),
    async restartDaemon() {
      await runScript(info.stopScript, `stopping dockerd ${info.name}`);
      await runScript(info.startScript, `starting dockerd ${info.name}`);
    },
    logTail: (lines = 40) => tail(info.logFile, lines),
    info: () => ({ ...info }),
  };
}

/** Reads a rig daemon directory's recorded layout (for the CLI and the sweeper). */
export function readDaemonInfo(dir: string): DaemonInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as DaemonInfo;
  } catch {
    const slot = slotOf(dir);
    return slot === undefined ? undefined : layout(slot, '(unknown)');
  }
}

interface NetworkSummary {
  Id: string;
  Driver: string;
  Options?: Record<string, string>;
}

/** Names of the Linux bridges behind the daemon's bridge networks (they outlive it). */
async function networkBridges(socketPath: string): Promise<string[]> {
  const networks = await apiJson<NetworkSummary[]>(socketPath, '/networks', 5_000);
  return networks
    .filter((n) => n.Driver === 'bridge')
    .map((n) => n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`);
}

/** Kills running containers first: their PID 1 often ignores SIGTERM, which makes dockerd wait. */
async function killContainers(socketPath: string): Promise<void> {
  const running = await apiJson<{ Id: string }[]>(socketPath, '/containers/json', 5_000);
  await Promise.all(
    running.map((c) => apiRequest(socketPath, 'POST', `/containers/${c.Id}/kill`, 10_000).catch(() => undefined)),
  );
}

/**
 * Tears a rig daemon down from its directory alone: used by stop() and by the sweeper for
 * daemons of crashed runs. Safe to call twice, and on a half-started daemon.
 */
export async function teardownDaemonDir(dir: string): Promise<void> {
  const info = readDaemonInfo(dir);
  if (!info) return;
  const bridges: string[] = [];
  if (existsSync(info.socketPath) && (await ping(info.socketPath))) {
    bridges.push(...(await networkBridges(info.socketPath).catch(() => [])));
    await killContainers(info.socketPath).catch(() => undefined);
  }
  const pid = readPid(info.pidFile);
  const daemonPid = pid !== undefined && isAlive(pid) && cmdline(pid).includes(dir + '/') ? pid : undefined;
  // Remember the whole tree (containerd, shims, containers, docker-proxy) before it is orphaned.
  const tree = daemonPid !== undefined ? descendants([daemonPid]) : [];
  if (daemonPid !== undefined) await terminate([daemonPid], 30_000);
  const owned = findProcesses((cmd) => cmd.includes(dir + '/'));
  const proxies = findProcesses(
    (cmd) => cmd.includes('docker-proxy') && cmd.includes(`-container-ip ${info.subnetPrefix}.`),
  );
  await killTrees([...tree.filter((p) => isAlive(p)), ...owned, ...proxies]);
  // Bridges before the directory: removing the directory frees the slot for the next daemon.
  await removeBridges(info.slot, bridges);
  await removeTree(dir);
}
