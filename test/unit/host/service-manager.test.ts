import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperatorError, UsageError } from '../../../src/errors.js';
import { FixtureHost, type CannedCommand } from '../../../src/host/fixture-host.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { DaemonStartError, detectServiceManager, initScriptPidFile, startDocker, stopDocker, type ServiceManager } from '../../../src/host/service-manager.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmm-service-'));
});
afterEach(() => {
  // Any fake daemon still running is stopped, whatever the test did.
  const pidFile = join(dir, 'fake.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function fixture(files: Record<string, string>, commands: CannedCommand[]): FixtureHost {
  const root = join(dir, 'root');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
    else writeFileSync(join(root, path), text);
  }
  mkdirSync(root, { recursive: true });
  return new FixtureHost(root, { commands });
}

const loaded = (unit: string): CannedCommand => ({ command: 'systemctl', args: ['show', '-p', 'LoadState', unit], stdout: 'LoadState=loaded\n' });
const notFound = (unit: string): CannedCommand => ({ command: 'systemctl', args: ['show', '-p', 'LoadState', unit], stdout: 'LoadState=not-found\n' });

describe('detectServiceManager', () => {
  it('auto picks systemd when it runs and knows docker.service, with its socket', async () => {
    const host = fixture({ '/run/systemd/system/': '', '/etc/init.d/docker': '#!/bin/sh\n' }, [loaded('docker.service'), loaded('docker.socket')]);
    const manager = await detectServiceManager(host, { manager: 'auto' });
    expect(manager).toMatchObject({ kind: 'systemd', unit: 'docker.service', socketUnit: 'docker.socket' });
    expect(manager.reason).toBe('auto: /run/systemd/system exists and systemd knows docker.service and docker.socket');
    expect(manager.stopCommands).toEqual(['systemctl stop docker.socket docker.service']);
    expect(manager.startCommands).toEqual(['systemctl reset-failed docker.socket docker.service', 'systemctl start --no-block docker.socket docker.service']);
  });

  it('RHEL 7 (docker 1.13, no docker.socket): systemd without a socket unit', async () => {
    const host = fixture({ '/run/systemd/system/': '' }, [loaded('docker.service'), notFound('docker.socket')]);
    const manager = await detectServiceManager(host, { manager: 'auto' });
    expect(manager.socketUnit).toBeUndefined();
    expect(manager.stopCommands).toEqual(['systemctl stop docker.service']);
  });

  it('auto falls back to sysvinit, and says why', async () => {
    const host = fixture({ '/etc/init.d/docker': '#!/bin/sh\n' }, [{ command: 'service' }]);
    const manager = await detectServiceManager(host, { manager: 'auto' });
    expect(manager).toMatchObject({ kind: 'sysvinit', reason: 'auto: /etc/init.d/docker exists', stopCommands: ['service docker stop'], startCommands: ['service docker start'] });
  });

  it('auto with nothing that fits names the choices', async () => {
    const host = fixture({}, []);
    const error = await detectServiceManager(host, { manager: 'auto' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).remedy).toMatch(/systemd, sysvinit, or command/);
  });

  it('command needs both commands; systemd asked for must be there', async () => {
    const host = fixture({}, []);
    await expect(detectServiceManager(host, { manager: 'command', stop: 'x', start: '' })).rejects.toBeInstanceOf(UsageError);
    expect(await detectServiceManager(host, { manager: 'command', stop: '/opt/stop.sh', start: '/opt/start.sh' })).toMatchObject({
      kind: 'command',
      stopCommands: ["sh -c '/opt/stop.sh'"],
    });
    await expect(detectServiceManager(host, { manager: 'systemd' })).rejects.toThrow(/systemctl is not on this host/);
  });
});

describe('detectServiceManager auto, matched to the daemon behind --docker-host', () => {
  const SOCK = 'unix:///var/run/docker.sock';
  const mainPid = (unit: string, pid: number): CannedCommand => ({ command: 'systemctl', args: ['show', '-p', 'MainPID', unit], stdout: `MainPID=${pid}\n` });
  const DEBIAN_INIT = '#!/bin/sh\nBASE=docker\nDOCKER_SSD_PIDFILE=/var/run/$BASE-ssd.pid\nDOCKER_PIDFILE=/var/run/$BASE.pid\n';

  it('takes docker.service when its MainPID is the serving dockerd', async () => {
    const host = fixture({ '/run/systemd/system/': '' }, [loaded('docker.service'), notFound('docker.socket'), mainPid('docker.service', 1500)]);
    const manager = await detectServiceManager(host, { manager: 'auto' }, { serving: { dockerHost: SOCK, pid: 1500 } });
    expect(manager.kind).toBe('systemd');
    expect(manager.reason).toContain('its MainPID 1500 is the dockerd serving unix:///var/run/docker.sock');
  });

  it('refuses docker.service when it runs another dockerd, naming both and service.manager: command', async () => {
    // The distribution's daemon under systemd, the one to migrate started by hand on its own socket.
    const host = fixture({ '/run/systemd/system/': '' }, [loaded('docker.service'), notFound('docker.socket'), mainPid('docker.service', 900)]);
    const error = await detectServiceManager(host, { manager: 'auto' }, { serving: { dockerHost: 'unix:///srv/other.sock', pid: 1500 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toContain('unix:///srv/other.sock (pid 1500)');
    expect((error as OperatorError).message).toContain('docker.service runs pid 900');
    expect((error as OperatorError).remedy).toContain('service.manager: command');
    expect((error as OperatorError).remedy).toContain('service.stop and service.start');
  });

  it('refuses when no running dockerd serves the Docker host (nothing to match)', async () => {
    const host = fixture({ '/run/systemd/system/': '', '/etc/init.d/docker': DEBIAN_INIT }, [loaded('docker.service'), notFound('docker.socket'), mainPid('docker.service', 900)]);
    const error = await detectServiceManager(host, { manager: 'auto' }, { serving: { dockerHost: SOCK } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toMatch(/no running dockerd serves unix:\/\/\/var\/run\/docker.sock/);
  });

  it('takes a unit whose cgroup holds the serving dockerd (a wrapper as MainPID)', async () => {
    const host = fixture({ '/run/systemd/system/': '' }, [loaded('docker.service'), notFound('docker.socket'), mainPid('docker.service', 1499)]);
    const manager = await detectServiceManager(host, { manager: 'auto' }, { serving: { dockerHost: SOCK, pid: 1500, systemdUnit: 'docker.service' } });
    expect(manager.kind).toBe('systemd');
  });

  it('takes /etc/init.d/docker when its pid file names the serving dockerd, and refuses it otherwise', async () => {
    const matching = fixture({ '/etc/init.d/docker': DEBIAN_INIT, '/var/run/docker.pid': '1500\n' }, [{ command: 'service' }]);
    const manager = await detectServiceManager(matching, { manager: 'auto' }, { serving: { dockerHost: SOCK, pid: 1500 } });
    expect(manager.kind).toBe('sysvinit');
    expect(manager.reason).toContain('/var/run/docker.pid names the dockerd serving');

    rmSync(join(dir, 'root'), { recursive: true, force: true });
    const other = fixture({ '/etc/init.d/docker': DEBIAN_INIT, '/var/run/docker.pid': '900\n' }, [{ command: 'service' }]);
    const error = await detectServiceManager(other, { manager: 'auto' }, { serving: { dockerHost: SOCK, pid: 1500 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toContain('/etc/init.d/docker stops the process named in /var/run/docker.pid (pid 900), not pid 1500');
  });

  it('passes over a unit that runs another daemon to the init script that controls this one', async () => {
    const host = fixture({ '/run/systemd/system/': '', '/etc/init.d/docker': DEBIAN_INIT, '/var/run/docker.pid': '1500' }, [loaded('docker.service'), notFound('docker.socket'), mainPid('docker.service', 900), { command: 'service' }]);
    expect((await detectServiceManager(host, { manager: 'auto' }, { serving: { dockerHost: SOCK, pid: 1500 } })).kind).toBe('sysvinit');
  });

  it('reads the pid file an init script names', () => {
    expect(initScriptPidFile(DEBIAN_INIT)).toBe('/var/run/docker.pid');
    expect(initScriptPidFile('prog="docker"\npidfile="/var/run/$prog.pid"\n')).toBe('/var/run/docker.pid');
    expect(initScriptPidFile('PIDFILE=/run/dockerd-main.pid\n')).toBe('/run/dockerd-main.pid');
    expect(initScriptPidFile('pidfile=$(get_pid)\n')).toBe('/var/run/docker.pid');
    expect(initScriptPidFile('#!/bin/sh\n')).toBe('/var/run/docker.pid');
  });
});

describe('startDocker and stopDocker with systemd', () => {
  it('a unit that fails to start brings its journal into the error', async () => {
    const journal = 'dockerd[812]: failed to start daemon: error initializing graphdriver: [graphdriver] ERROR: the devicemapper storage-driver has been deprecated and removed';
    const host = fixture({ '/run/systemd/system/': '' }, [
      loaded('docker.service'),
      notFound('docker.socket'),
      { command: 'systemctl', args: ['reset-failed', 'docker.service'] },
      { command: 'systemctl', args: ['start', '--no-block', 'docker.service'] },
      { command: 'systemctl', args: ['show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'Result', 'docker.service'], stdout: 'ActiveState=failed\nSubState=failed\nResult=exit-code\n' },
      { command: 'journalctl', args: ['-u', 'docker.service', '-n', '30', '--no-pager'], stdout: `-- Logs begin --\n${journal}\n` },
    ]);
    const manager = await detectServiceManager(host, { manager: 'systemd' });
    const error = await startDocker(host, manager, { timeoutSeconds: 5, ping: async () => false, pollMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonStartError);
    expect((error as DaemonStartError).failure).toBe('exited');
    expect((error as DaemonStartError).message).toContain('docker.service failed');
    expect((error as DaemonStartError).logLines).toContain(journal);
    // reset-failed ran before start, so StartLimitBurst cannot refuse this start.
    const order = host.calls.map((c) => c.args.slice(0, 2).join(' '));
    expect(order.indexOf('reset-failed docker.service')).toBeLessThan(order.indexOf('start --no-block'));
  });
});

/** A stand-in daemon: listens on a unix socket, writes its pid file, logs a line; optionally exits at once. */
const FAKE_DAEMON = `
const net = require('node:net'); const fs = require('node:fs');
const [sock, pidFile, mode] = process.argv.slice(2);
fs.writeFileSync(pidFile, String(process.pid));
if (mode === 'die') { console.error('failed to start daemon: error initializing graphdriver: driver not supported'); process.exit(1); }
process.on('SIGTERM', () => { if (mode !== 'stubborn') { server.close(); process.exit(0); } });
const server = net.createServer((c) => { c.on('error', () => {}); c.end('HTTP/1.1 200 OK\\r\\n\\r\\nOK'); }).listen(sock, () => console.error('API listen on ' + sock));
`;

describe('startDocker and stopDocker with the command manager (real processes)', () => {
  const host = new NodeHost('/');
  const answers = (sock: string) => () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(sock);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  function manager(mode = ''): { manager: ServiceManager; sock: string; pidFile: string; logFile: string } {
    const sock = join(dir, 'fake.sock');
    const pidFile = join(dir, 'fake.pid');
    const logFile = join(dir, 'fake.log');
    writeFileSync(join(dir, 'fake.cjs'), FAKE_DAEMON);
    const start = `rm -f ${sock}; ${process.execPath} ${join(dir, 'fake.cjs')} ${sock} ${pidFile} ${mode} >>${logFile} 2>&1 &`;
    const stop = `kill $(cat ${pidFile})`;
    return { manager: { kind: 'command', reason: 'test', startCommand: start, stopCommand: stop, startCommands: [start], stopCommands: [stop] }, sock, pidFile, logFile };
  }

  it('starts, answers, stops: the process is gone and the socket refuses', async () => {
    const m = manager();
    const started = await startDocker(host, m.manager, { timeoutSeconds: 10, ping: answers(m.sock), pidFile: m.pidFile, logFile: m.logFile });
    expect(started.command.exitCode).toBe(0);
    expect(await answers(m.sock)()).toBe(true);
    const pid = Number(readFileSync(m.pidFile, 'utf8'));
    const stopped = await stopDocker(host, m.manager, { timeoutSeconds: 10, answers: answers(m.sock), pidFile: m.pidFile });
    expect(stopped.pid).toBe(pid);
    // Gone, or a zombie its (reparented) parent has not reaped yet: either way not running.
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')))).toBe(true);
    expect(await answers(m.sock)()).toBe(false);
  });

  it('a daemon that exits instead of answering: the error carries its log', async () => {
    const m = manager('die');
    const error = await startDocker(host, m.manager, { timeoutSeconds: 10, ping: answers(m.sock), pidFile: m.pidFile, logFile: m.logFile }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonStartError);
    expect((error as DaemonStartError).failure).toBe('exited');
    expect((error as DaemonStartError).message).toMatch(/gave up: failed to start daemon: error initializing graphdriver: driver not supported\.\nLast lines of .*fake\.log:\nfailed to start daemon/);
  });

  it('without a log file, a pid file written since the start that names a dead process is enough', async () => {
    const m = manager('die');
    writeFileSync(m.pidFile, '999999\n'); // stale, from an earlier run
    const error = await startDocker(host, m.manager, { timeoutSeconds: 10, ping: answers(m.sock), pidFile: m.pidFile }).catch((e: unknown) => e);
    expect((error as DaemonStartError).failure).toBe('exited');
    expect((error as DaemonStartError).message).toMatch(/dockerd \(pid \d+\) exited/);
    expect((error as DaemonStartError).message).not.toContain('999999');
  });

  it('a pid file left by a crash that names a process other than dockerd is removed before the start (dockerd would refuse it)', async () => {
    const m = manager();
    writeFileSync(m.pidFile, `${process.pid}\n`); // a live process, but not a dockerd: its pid was reused
    const said: string[] = [];
    await startDocker(host, m.manager, { timeoutSeconds: 10, ping: answers(m.sock), pidFile: m.pidFile, say: (text) => said.push(text) });
    expect(said.join('\n')).toContain(`Removed the stale pid file ${m.pidFile}: process ${process.pid} is not a running dockerd.`);
    await stopDocker(host, m.manager, { timeoutSeconds: 10, answers: answers(m.sock), pidFile: m.pidFile });
  });

  it('a start command that fails is reported with its output', async () => {
    const failing: ServiceManager = { kind: 'command', reason: 'test', startCommand: 'echo refusing to start >&2; exit 3', stopCommand: 'true', startCommands: [], stopCommands: [] };
    const error = await startDocker(host, failing, { timeoutSeconds: 5, ping: async () => false, pidFile: join(dir, 'none.pid') }).catch((e: unknown) => e);
    expect((error as DaemonStartError).failure).toBe('start-command-failed');
    expect((error as DaemonStartError).message).toContain('refusing to start');
  });

  it('a ping that hangs counts as no answer, and time runs out', async () => {
    const quiet: ServiceManager = { kind: 'command', reason: 'test', startCommand: 'true', stopCommand: 'true', startCommands: [], stopCommands: [] };
    const began = Date.now();
    const error = await startDocker(host, quiet, { timeoutSeconds: 1, attemptTimeoutMs: 200, ping: () => new Promise<boolean>(() => undefined), pidFile: join(dir, 'none.pid') }).catch((e: unknown) => e);
    expect((error as DaemonStartError).failure).toBe('timeout');
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('a daemon that ignores the stop: an error after the timeout, naming its pid', async () => {
    const m = manager('stubborn');
    await startDocker(host, m.manager, { timeoutSeconds: 10, ping: answers(m.sock), pidFile: m.pidFile });
    const pid = Number(readFileSync(m.pidFile, 'utf8'));
    await expect(stopDocker(host, m.manager, { timeoutSeconds: 1, answers: answers(m.sock), pidFile: m.pidFile })).rejects.toThrow(
      new RegExp(`did not stop within 1 s: its process ${pid} is still running`),
    );
  });
});
