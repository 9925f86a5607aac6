import { readFileSync } from 'node:fs';

/**
 * Test-only fault injection: DEVMAPPER_MIGRATE_TEST_KILL_AT="<step>:<before|after|middle>"
 * kills this process with SIGKILL at that point; with DEVMAPPER_MIGRATE_TEST_KILL_PIDFILE set,
 * it kills the process named in that file instead (a test's dockerd, dying mid-restore); with
 * DEVMAPPER_MIGRATE_TEST_KILL_SIGNAL=SIGINT it sends an operator's Ctrl+C instead of SIGKILL.
 * Long steps call it with "middle" after their first unit of work.
 *
 * The release build drops the labelled block (esbuild's dropLabels in scripts/bundle.mjs), so
 * no environment variable can make the shipped tool kill anything (issue 19 item 10); only the
 * test build that the fault tests run keeps it.
 */
export function testKillPoint(stepId: string, where: 'before' | 'after' | 'middle'): void {
  DMM_TEST_HOOKS: {
    const target = process.env.DEVMAPPER_MIGRATE_TEST_KILL_AT;
    if (!target || target !== `${stepId}:${where}`) break DMM_TEST_HOOKS;
    const pidFile = process.env.DEVMAPPER_MIGRATE_TEST_KILL_PIDFILE;
    const signal = process.env.DEVMAPPER_MIGRATE_TEST_KILL_SIGNAL === 'SIGINT' ? 'SIGINT' : 'SIGKILL';
    const pid = pidFile ? hookKillTarget(pidFile, readFileSync(pidFile, 'utf8'), readCmdline) : process.pid;
    process.kill(pid, signal);
  }
}

function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The pid a kill-pid file may name: this process, or one that was started with that very pid
 * file on its command line (the test's dockerd, run with --pidfile FILE). Anything else throws:
 * `-1` or `0` would signal every process or the whole group, and a stray pid some other program.
 */
export function hookKillTarget(pidFile: string, text: string, cmdlineOf: (pid: number) => string | undefined): number {
  const trimmed = text.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(trimmed)) throw new Error(`test hook: ${pidFile} holds ${JSON.stringify(trimmed)}, not a process id`);
  const pid = Number(trimmed);
  if (pid === process.pid) return pid;
  const words = (cmdlineOf(pid) ?? '').split('\0');
  if (pid === 1 || !words.includes(pidFile)) throw new Error(`test hook: process ${pid} named in ${pidFile} was not started with that pid file`);
  return pid;
}
