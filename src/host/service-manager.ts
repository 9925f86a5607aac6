import { wordsOf } from '../text/words.js';
import { OperatorError, UsageError } from '../errors.js';
import type { CommandResult, Host } from './host.js';

/**
 * Stopping and starting the Docker daemon through whatever runs it: systemd, a SysV init
 * script, or the operator's own commands (hosts with their own init, and the test rig).
 * "Stopped" means the daemon's process is gone and its socket no longer answers; "started"
 * means GET /_ping answers 200. Talking to Docker is src/docker's job: the ping comes in as a
 * function.
 */

export type ServiceManagerKind = 'systemd' | 'sysvinit' | 'command';

export interface ServiceManager {
  kind: ServiceManagerKind;
  /** Why this one, for the log: "auto: /run/systemd/system exists and docker.service is loaded". */
  reason: string;
  /** systemd: the service unit ("docker.service"). */
  unit?: string;
  /** systemd: the socket unit when the host has one ("docker.socket"); it must stop too. */
  socketUnit?: string;
  /** command: the operator's shell commands. */
  stopCommand?: string;
  startCommand?: string;
  /** The commands stop and start will run, readable, for the plan and `--dry-run`. */
  stopCommands: string[];
  startCommands: string[];
}

/** What the answers file says about the service (`service:`). */
export interface ServiceAnswers {
  manager: 'auto' | ServiceManagerKind;
  stop?: string;
  start?: string;
}

const SYSTEMD_RUNTIME = '/run/systemd/system';
const INIT_SCRIPT = '/etc/init.d/docker';

/** The dockerd behind --docker-host, as preflight found it: the daemon `auto` must be sure to control. */
export interface ServingDaemon {
  dockerHost: string;
  /** Its pid; undefined when no running dockerd was found serving dockerHost. */
  pid?: number;
  /** The systemd service in whose cgroup it runs, when any. */
  systemdUnit?: string;
}

/**
 * Picks the service manager: the one asked for, or with `auto` the first that fits (systemd,
 * then sysvinit). Given the daemon behind --docker-host, `auto` takes a manager only when it
 * controls that very process: another daemon on the machine (a second dockerd on its own
 * socket, the distribution's next to a hand-started one) must never be the one stopped.
 */
export async function detectServiceManager(
  host: Host,
  service: ServiceAnswers,
  options: { unit?: string; serving?: ServingDaemon } = {},
): Promise<ServiceManager> {
  const unit = options.unit ?? 'docker.service';
  switch (service.manager) {
    case 'command':
      return commandManager(service);
    case 'systemd': {
      const found = await systemdUnits(host, unit);
      if (!found.systemctl) {
        throw new OperatorError('service.manager is systemd, but systemctl is not on this host.', 'Set service.manager to sysvinit or command (with service.stop and service.start).');
      }
      if (!found.loaded) {
        throw new OperatorError(`service.manager is systemd, but systemd does not know ${unit}.`, 'Check `systemctl status docker`, or set service.manager to command with the stop and start commands this host uses.');
      }
      return systemdManager(unit, found.socket, `asked for: systemd (${unit}${found.socket ? ` and ${found.socket}` : ''})`);
    }
    case 'sysvinit':
      if (!(await host.stat(INIT_SCRIPT))) {
        throw new OperatorError(`service.manager is sysvinit, but ${INIT_SCRIPT} does not exist.`, 'Set service.manager to systemd, or to command with the stop and start commands this host uses.');
      }
      return sysvinitManager(host, 'asked for: sysvinit');
    case 'auto':
      return autoManager(host, unit, options.serving);
    default:
      throw new UsageError(`service.manager "${String(service.manager)}" is not one of auto, systemd, sysvinit, command.`, 'Use one of those values.');
  }
}

/** `auto`: systemd, else the init script, each only when it controls the serving daemon (when that is given). */
async function autoManager(host: Host, unit: string, serving: ServingDaemon | undefined): Promise<ServiceManager> {
  const refusals: string[] = [];
  if (await host.stat(SYSTEMD_RUNTIME)) {
    const found = await systemdUnits(host, unit);
    if (found.loaded) {
      const reason = `auto: ${SYSTEMD_RUNTIME} exists and systemd knows ${unit}${found.socket ? ` and ${found.socket}` : ''}`;
      const control = serving ? await unitControls(host, unit, serving) : { evidence: '' };
      if ('evidence' in control) return systemdManager(unit, found.socket, reason + control.evidence);
      refusals.push(control.refusal);
    }
  }
  if (await host.stat(INIT_SCRIPT)) {
    const control = serving ? await initScriptControls(host, serving) : { evidence: '' };
    if ('evidence' in control) return sysvinitManager(host, `auto: ${INIT_SCRIPT} exists${control.evidence}`);
    refusals.push(control.refusal);
  }
  if (refusals.length > 0) {
    throw new OperatorError(
      `service.manager auto found no service that controls the Docker daemon behind ${serving!.dockerHost}${serving!.pid ? ` (pid ${serving!.pid})` : ''}: ${refusals.join('; ')}. Stopping it could stop another daemon and leave this one running.`,
      `Set service.manager: command in the answers file, with service.stop and service.start: the shell commands that stop and start the dockerd serving ${serving!.dockerHost}.`,
    );
  }
  throw new OperatorError(
    `Cannot tell how Docker is run on this host: systemd does not know ${unit} and ${INIT_SCRIPT} does not exist.`,
    'Set service.manager in the answers file: systemd, sysvinit, or command (with service.stop and service.start, shell commands that stop and start dockerd).',
  );
}

type Control = { evidence: string } | { refusal: string };

/** Whether stopping the unit stops the serving daemon: it is the unit's MainPID, or runs in its cgroup. */
async function unitControls(host: Host, unit: string, serving: ServingDaemon): Promise<Control> {
  if (serving.pid === undefined) return { refusal: `no running dockerd serves ${serving.dockerHost}, so nothing shows that ${unit} controls it` };
  const shown = await host.run('systemctl', ['show', '-p', 'MainPID', unit], { timeoutMs: 10_000 });
  const mainPid = Number(/^MainPID=(\d+)$/m.exec(shown.stdout)?.[1] ?? 0);
  if (mainPid === serving.pid) return { evidence: `, and its MainPID ${mainPid} is the dockerd serving ${serving.dockerHost}` };
  if (serving.systemdUnit === unit) return { evidence: `, and the dockerd serving ${serving.dockerHost} (pid ${serving.pid}) runs in its cgroup` };
  return { refusal: `${unit} runs ${mainPid > 0 ? `pid ${mainPid}` : 'no process'}${serving.systemdUnit ? `, and pid ${serving.pid} runs under ${serving.systemdUnit}` : ''}` };
}

/** Whether the init script stops the serving daemon: its pid file names that process. */
async function initScriptControls(host: Host, serving: ServingDaemon): Promise<Control> {
  if (serving.pid === undefined) return { refusal: `no running dockerd serves ${serving.dockerHost}, so nothing shows that ${INIT_SCRIPT} controls it` };
  const pidFile = initScriptPidFile((await host.readFile(INIT_SCRIPT).catch(() => undefined)) ?? '');
  const text = await host.readFile(pidFile).catch(() => undefined);
  const pid = Number(text?.trim());
  if (pid === serving.pid) return { evidence: ` and its pid file ${pidFile} names the dockerd serving ${serving.dockerHost} (pid ${pid})` };
  const named = text === undefined ? 'no such file' : `pid ${text.trim() || '(empty)'}`;
  return { refusal: `${INIT_SCRIPT} stops the process named in ${pidFile} (${named}), not pid ${serving.pid}` };
}

/**
 * The pid file an init script stops by: its DOCKER_PIDFILE= (Debian), pidfile= (RHEL 6) or
 * PIDFILE= with $BASE/$prog/$NAME read as "docker", else the default /var/run/docker.pid.
 */
export function initScriptPidFile(script: string): string {
  const match = /^\s*(?:export\s+)?(?:DOCKER_PIDFILE|PIDFILE|pidfile)=["']?([^"'\s;]+)/m.exec(script)?.[1];
  const expanded = match?.replace(/\$\{?(BASE|prog|NAME)\}?/g, 'docker');
  return expanded && expanded.startsWith('/') && !expanded.includes('$') ? expanded : '/var/run/docker.pid';
}

function commandManager(service: ServiceAnswers): ServiceManager {
  const stop = service.stop?.trim() ?? '';
  const start = service.start?.trim() ?? '';
  if (stop === '' || start === '') {
    throw new UsageError('service.manager is command, but service.stop or service.start is empty.', 'Give both: the shell commands that stop and start dockerd on this host.');
  }
  return { kind: 'command', reason: 'asked for: command', stopCommand: stop, startCommand: start, stopCommands: [`sh -c ${quote(stop)}`], startCommands: [`sh -c ${quote(start)}`] };
}

function systemdManager(unit: string, socket: string | undefined, reason: string): ServiceManager {
  const units = socket ? [socket, unit] : [unit];
  return {
    kind: 'systemd',
    reason,
    unit,
    socketUnit: socket,
    // Stopping the service alone leaves the socket listening, and the next connection would
    // start the daemon again behind our back (PITFALLS 16).
    stopCommands: [`systemctl stop ${units.join(' ')}`],
    startCommands: [`systemctl reset-failed ${units.join(' ')}`, `systemctl start --no-block ${units.join(' ')}`],
  };
}

async function sysvinitManager(host: Host, reason: string): Promise<ServiceManager> {
  const service = await host.which('service');
  const stop = service ? 'service docker stop' : `${INIT_SCRIPT} stop`;
  const start = service ? 'service docker start' : `${INIT_SCRIPT} start`;
  return { kind: 'sysvinit', reason, stopCommands: [stop], startCommands: [start] };
}

async function systemdUnits(host: Host, unit: string): Promise<{ systemctl: boolean; loaded: boolean; socket?: string }> {
  if (!(await host.which('systemctl'))) return { systemctl: false, loaded: false };
  const loaded = await loadState(host, unit);
  const socketName = unit.replace(/\.service$/, '.socket');
  const socket = socketName !== unit && (await loadState(host, socketName)) ? socketName : undefined;
  return { systemctl: true, loaded, socket };
}

/** systemctl show -p LoadState (no --value: RHEL 7's systemd 219 does not have it). */
async function loadState(host: Host, unit: string): Promise<boolean> {
  const result = await host.run('systemctl', ['show', '-p', 'LoadState', unit], { timeoutMs: 10_000 });
  return result.exitCode === 0 && /^LoadState=loaded$/m.test(result.stdout);
}

/** Runs `systemctl daemon-reload` after a unit or drop-in was edited; nothing for other managers. */
export async function reloadServiceDefinitions(host: Host, manager: ServiceManager): Promise<CommandResult | undefined> {
  if (manager.kind !== 'systemd') return undefined;
  const result = await host.run('systemctl', ['daemon-reload'], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new OperatorError(`systemctl daemon-reload failed: ${lastLines(result.stderr || result.stdout, 5).join(' ')}`, 'Run `systemctl daemon-reload` by hand and look at its message, then resume.');
  }
  return result;
}

/** How to recognise the daemon and its socket while waiting. */
export interface WaitOptions {
  /** Give up after this long (the answers' service.timeoutSeconds). */
  timeoutSeconds: number;
  /** dockerd's pid file (default /var/run/docker.pid). */
  pidFile?: string;
  /** Each poll of the socket gets this long before it counts as hanging (default 2 s). */
  attemptTimeoutMs?: number;
  /** Time between polls (default 250 ms). */
  pollMs?: number;
  /** Progress lines for the log. */
  say?: (line: string) => void;
}

export interface StopOptions extends WaitOptions {
  /** True when the daemon's socket answers (GET /_ping through src/docker); false when refused. */
  answers: () => Promise<boolean>;
  /** The daemon's pid when the caller already knows it (else from the pid file). */
  pid?: number;
}

export interface StopResult {
  /** What the stop command printed (also when it failed but the daemon was already down). */
  command: CommandResult;
  pid?: number;
  seconds: number;
}

/** Stops Docker, then waits until its process is gone and its socket no longer answers. */
export async function stopDocker(host: Host, manager: ServiceManager, options: StopOptions): Promise<StopResult> {
  const started = Date.now();
  const pidFile = options.pidFile ?? '/var/run/docker.pid';
  const pid = options.pid ?? (await readPid(host, pidFile));
  const identity = pid === undefined ? undefined : await processInfo(host, pid);
  options.say?.(`Stopping Docker (${manager.stopCommands.join('; ')})…`);
  const command = await runStop(host, manager, options.timeoutSeconds);
  const deadline = started + options.timeoutSeconds * 1000;
  let processGone = false;
  let socketQuiet = false;
  for (;;) {
    processGone = identity === undefined || !(await sameProcessRuns(host, pid!, identity.startTime));
    if (processGone) {
      const answered = await withTimeout(options.answers().catch(() => false), options.attemptTimeoutMs ?? 2000);
      // A hanging connection is something still holding the socket: not stopped yet.
      socketQuiet = answered === false;
      if (socketQuiet) break;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.pollMs ?? 250);
  }
  if (!processGone || !socketQuiet) {
    const what = !processGone ? `its process ${pid} is still running` : 'its socket still answers';
    const output = lastLines(`${command.stdout}\n${command.stderr}`, 10);
    throw new OperatorError(
      `Docker did not stop within ${options.timeoutSeconds} s: ${what}.${output.length ? `\nThe stop command said:\n${output.join('\n')}` : ''}`,
      manager.kind === 'systemd'
        ? `Look at \`systemctl status ${manager.unit}\`; stop it (and ${manager.socketUnit ?? 'any docker.socket'}) by hand, then resume.`
        : 'Stop dockerd by hand (or fix service.stop), make sure nothing listens on its socket, then resume.',
    );
  }
  return { command, pid, seconds: (Date.now() - started) / 1000 };
}

async function runStop(host: Host, manager: ServiceManager, timeoutSeconds: number): Promise<CommandResult> {
  const timeoutMs = timeoutSeconds * 1000;
  switch (manager.kind) {
    case 'systemd':
      return host.run('systemctl', ['stop', ...(manager.socketUnit ? [manager.socketUnit] : []), manager.unit!], { timeoutMs });
    case 'sysvinit':
      return runWords(host, manager.stopCommands[0]!, timeoutMs);
    case 'command':
      return runOperatorCommand(host, manager.stopCommand!, timeoutMs);
  }
}

export interface StartOptions extends WaitOptions {
  /** True once GET /_ping answers 200 (through src/docker). */
  ping: () => Promise<boolean>;
  /** For sysvinit and command: the daemon's log file, whose last lines go into an error. */
  logFile?: string;
  /** How many log lines an error carries (default 30). */
  logLines?: number;
}

export interface StartResult {
  command: CommandResult;
  seconds: number;
}

/** Why a start failed: the daemon exited, the start command failed, or time ran out. */
export type StartFailure = 'exited' | 'start-command-failed' | 'timeout';

/** Docker did not come up; carries the daemon's last log lines for the report. */
export class DaemonStartError extends OperatorError {
  constructor(
    message: string,
    remedy: string,
    readonly failure: StartFailure,
    readonly logLines: string[],
  ) {
    super(message, remedy);
    this.name = 'DaemonStartError';
  }
}

/** Starts Docker and waits until GET /_ping answers; a daemon that exits or times out is an error with its last log lines. */
export async function startDocker(host: Host, manager: ServiceManager, options: StartOptions): Promise<StartResult> {
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const pidFile = options.pidFile ?? '/var/run/docker.pid';
  options.say?.(`Starting Docker (${manager.startCommands.join('; ')})…`);
  await clearStalePidFile(host, pidFile, options.say);
  const watch = await watchFrom(host, pidFile, options.logFile);
  const command = await runStart(host, manager, options.timeoutSeconds);
  if (command.exitCode !== 0) {
    // A start command that fails may still have left a daemon starting; if it answers, fine.
    if (!(await pingOnce(options))) {
      throw await startError(host, manager, options, 'start-command-failed', command, `the start command failed (exit ${command.exitCode})`);
    }
  }
  let polls = 0;
  for (;;) {
    if (await pingOnce(options)) return { command, seconds: (Date.now() - started) / 1000 };
    const gone = await daemonExited(host, manager, watch, polls++);
    if (gone) throw await startError(host, manager, options, 'exited', command, gone);
    if (Date.now() >= deadline) {
      throw await startError(host, manager, options, 'timeout', command, `GET /_ping did not answer within ${options.timeoutSeconds} s`);
    }
    await sleep(options.pollMs ?? 250);
  }
}

async function pingOnce(options: StartOptions): Promise<boolean> {
  return (await withTimeout(options.ping().catch(() => false), options.attemptTimeoutMs ?? 2000)) === true;
}

async function runStart(host: Host, manager: ServiceManager, timeoutSeconds: number): Promise<CommandResult> {
  const timeoutMs = timeoutSeconds * 1000;
  switch (manager.kind) {
    case 'systemd': {
      const units = [...(manager.socketUnit ? [manager.socketUnit] : []), manager.unit!];
      // A unit that failed 3 times in 60 s (StartLimitBurst) refuses to start until reset.
      await host.run('systemctl', ['reset-failed', ...units], { timeoutMs: 30_000 });
      // --no-block: a unit with TimeoutStartSec=0 would block here forever; we poll instead.
      return host.run('systemctl', ['start', '--no-block', ...units], { timeoutMs });
    }
    case 'sysvinit':
      return runWords(host, manager.startCommands[0]!, timeoutMs);
    case 'command':
      return runOperatorCommand(host, manager.startCommand!, timeoutMs);
  }
}

/** What was there before the start, so that a daemon that came and went can be told from stale files. */
interface ExitWatch {
  pidFile: string;
  before: { pid?: number; mtimeMs?: number };
  logFile?: string;
  logOffset: number;
  seen?: { pid: number; startTime?: string };
}

/** dockerd's last words when it gives up at start (20.10+, 17.x, and a daemon.json it refuses). */
const FATAL_LINE = /failed to start daemon|Error starting daemon|unable to configure the Docker daemon|level=fatal/;

async function watchFrom(host: Host, pidFile: string, logFile: string | undefined): Promise<ExitWatch> {
  const pid = await readPid(host, pidFile);
  const stat = await host.stat(pidFile).catch(() => undefined);
  const log = logFile ? await host.readFile(logFile).catch(() => undefined) : undefined;
  return { pidFile, before: { pid, mtimeMs: stat?.mtimeMs }, logFile, logOffset: log?.length ?? 0 };
}

/**
 * Why the daemon gave up while we wait, or undefined while it may still come: systemd says the
 * unit failed or went inactive; otherwise dockerd logged a fatal line, or a pid file written
 * since the start names a process that is gone (dockerd may even have removed the file again).
 */
async function daemonExited(host: Host, manager: ServiceManager, watch: ExitWatch, poll: number): Promise<string | undefined> {
  if (manager.kind === 'systemd') {
    if (poll % 4 !== 0) return undefined;
    const result = await host.run('systemctl', ['show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'Result', manager.unit!], { timeoutMs: 10_000 });
    const state = /^ActiveState=(.*)$/m.exec(result.stdout)?.[1];
    const sub = /^SubState=(.*)$/m.exec(result.stdout)?.[1] ?? '';
    if (state === 'failed') return `${manager.unit} failed (${sub})`;
    // --no-block returns before the job runs, so "inactive" only counts after a few polls.
    if (state === 'inactive' && poll >= 8) return `${manager.unit} is inactive (${sub})`;
    return undefined;
  }
  if (watch.logFile) {
    const text = await host.readFile(watch.logFile).catch(() => undefined);
    const fatal = text
      ?.slice(watch.logOffset)
      .split('\n')
      .find((line) => FATAL_LINE.test(line));
    if (fatal) return `dockerd gave up: ${fatal.trim()}`;
  }
  if (!watch.seen) {
    const pid = await readPid(host, watch.pidFile);
    const stat = await host.stat(watch.pidFile).catch(() => undefined);
    if (pid === undefined || (pid === watch.before.pid && stat?.mtimeMs === watch.before.mtimeMs)) return undefined;
    const info = await processInfo(host, pid);
    watch.seen = { pid, startTime: info && !info.zombie ? info.startTime : undefined };
  }
  const { pid, startTime } = watch.seen;
  if (startTime === undefined || !(await sameProcessRuns(host, pid, startTime))) return `dockerd (pid ${pid}) exited`;
  return undefined;
}

async function startError(
  host: Host,
  manager: ServiceManager,
  options: StartOptions,
  failure: StartFailure,
  command: CommandResult,
  what: string,
): Promise<DaemonStartError> {
  const count = options.logLines ?? 30;
  const lines = await daemonLog(host, manager, options.logFile, count);
  const output = lastLines(`${command.stdout}\n${command.stderr}`, count);
  const shown = [...(output.length ? ['The start command said:', ...output] : []), ...(lines.length ? [`Last lines of ${logSource(manager, options.logFile)}:`, ...lines] : [])];
  const remedy =
    manager.kind === 'systemd'
      ? `Read \`journalctl -u ${manager.unit}\` for the daemon's reason.`
      : `Read the daemon's log${options.logFile ? ` (${options.logFile})` : ''} for its reason.`;
  return new DaemonStartError(`Docker did not start: ${what}.${shown.length ? `\n${shown.join('\n')}` : ''}`, remedy, failure, [...output, ...lines]);
}

function logSource(manager: ServiceManager, logFile?: string): string {
  return manager.kind === 'systemd' ? `journalctl -u ${manager.unit}` : (logFile ?? 'the daemon log');
}

/** The daemon's last log lines: the journal for systemd, else the given log file (or the usual ones). */
async function daemonLog(host: Host, manager: ServiceManager, logFile: string | undefined, count: number): Promise<string[]> {
  if (manager.kind === 'systemd') {
    const result = await host.run('journalctl', ['-u', manager.unit!, '-n', String(count), '--no-pager'], { timeoutMs: 15_000 });
    return lastLines(result.stdout, count);
  }
  const candidates = logFile ? [logFile] : manager.kind === 'sysvinit' ? ['/var/log/docker.log', '/var/log/docker'] : [];
  for (const file of candidates) {
    const text = await host.readFile(file).catch(() => undefined);
    if (text !== undefined) return lastLines(text, count);
  }
  return [];
}

/**
 * Runs an operator's shell command with its output in a temporary file rather than our pipe:
 * a start command that leaves dockerd in the background (`dockerd ... &`) would otherwise hold
 * the pipe open and we would wait for it forever. Output comes back merged, as a log.
 */
const OPERATOR_WRAPPER = [
  'out=$(mktemp) || exit 1',
  '( eval "$1" ) >"$out" 2>&1 </dev/null',
  'rc=$?',
  'cat "$out"; rm -f "$out"',
  'exit $rc',
].join('\n');

async function runOperatorCommand(host: Host, command: string, timeoutMs: number): Promise<CommandResult> {
  const result = await host.run('sh', ['-c', OPERATOR_WRAPPER, 'sh', command], { timeoutMs, shownAs: `sh -c ${quote(command)}` });
  return { ...result, args: ['-c', command] };
}

async function runWords(host: Host, line: string, timeoutMs: number): Promise<CommandResult> {
  const [command, ...args] = wordsOf(line, 'shell');
  return host.run(command!, args, { timeoutMs });
}

/** How long a crashed daemon's zombie may take to be reaped (init reaps orphans every few seconds on some hosts). */
const ZOMBIE_WAIT_MS = 10_000;

/**
 * dockerd refuses to start while its pid file names any existing process ("pid file found,
 * ensure docker is not running"), a zombie included: a daemon that crashed or was killed stays
 * a zombie until its parent (often init) reaps it. Wait a little for that; a pid file that then
 * still names a zombie, or a process that is not dockerd (its pid reused), is stale: removed.
 */
async function clearStalePidFile(host: Host, pidFile: string, say: ((text: string) => void) | undefined): Promise<void> {
  const pid = await readPid(host, pidFile);
  if (pid === undefined) return;
  for (let waited = 0; ; waited += 250) {
    const info = await processInfo(host, pid);
    if (!info) return; // gone: dockerd replaces the file itself
    if (!info.zombie) {
      const cmdline = (await host.readFile(`/proc/${pid}/cmdline`).catch(() => undefined)) ?? '';
      if (cmdline.split('\0')[0]?.includes('dockerd')) return; // a daemon runs: its start fails with dockerd's own words
      break;
    }
    if (waited >= ZOMBIE_WAIT_MS) break;
    await sleep(250);
  }
  await host.unlink(pidFile);
  say?.(`Removed the stale pid file ${pidFile}: process ${pid} is not a running dockerd.`);
}

async function readPid(host: Host, pidFile: string): Promise<number | undefined> {
  const text = await host.readFile(pidFile).catch(() => undefined);
  const pid = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** State and start time of a process from /proc/<pid>/stat; undefined when there is none. */
async function processInfo(host: Host, pid: number): Promise<{ startTime: string; zombie: boolean } | undefined> {
  const text = await host.readFile(`/proc/${pid}/stat`).catch(() => undefined);
  if (!text) return undefined;
  // The command name is in parentheses and may hold spaces or parentheses: split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  return { startTime: fields[19] ?? '', zombie: state === 'Z' || state === 'X' };
}

/** Whether the process is still the one we saw (same start time: pids are reused) and not a zombie. */
async function sameProcessRuns(host: Host, pid: number, startTime: string): Promise<boolean> {
  const info = await processInfo(host, pid);
  return info !== undefined && !info.zombie && info.startTime === startTime;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function lastLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-count);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
