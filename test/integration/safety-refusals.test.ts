// Refusals that keep a run from destroying what it must keep, against the rig's real daemon
// (they change nothing, so the shared daemon serves): `service.manager: auto` on a machine
// whose /etc/init.d/docker (Debian's docker.io) controls another daemon than the one behind
// --docker-host, and a state dir inside the data-root, reached through a symlink.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ReportEntry } from '../../src/report/entry.js';
import { ensureDist, runCli } from '../rig/index.js';

const rig = inject('rig');
const daemon = rig.daemon;
let work: string;

beforeAll(async () => {
  await ensureDist();
  work = mkdtempSync(join(tmpdir(), 'dmm-refusals-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function answers(name: string, lines: string[]): string {
  const file = join(work, name);
  writeFileSync(file, ['target: overlay2', ...lines, ''].join('\n'));
  return file;
}

const servingPid = () => Number(readFileSync(daemon.pidFile, 'utf8').trim());

describe('service.manager: auto', () => {
  // This machine has Debian's init script (it controls /var/run/docker.pid) and no systemd:
  // exactly a host where auto would pick a script that does not control the daemon to migrate.
  const applies = existsSync('/etc/init.d/docker') && !existsSync('/run/systemd/system');

  it.runIf(applies)('refuses an init script whose pid file does not name the daemon behind --docker-host, before any change', async () => {
    const stateDir = join(work, 'state-auto');
    const file = answers('auto.yaml', ['service:', '  manager: auto']);
    for (const extra of [['--dry-run'], ['--yes']]) {
      const result = await runCli(['--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, 'run', '--answers', file, ...extra], { CI: 'true' });
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toContain(`${daemon.dockerHost} (pid ${servingPid()})`);
      expect(result.stderr).toContain('/etc/init.d/docker stops the process named in /var/run/docker.pid');
      expect(result.stderr).toContain('service.manager: command');
      expect(existsSync(join(stateDir, 'current'))).toBe(false);
    }
  }, 300_000);
});

describe('state dir inside the data-root', () => {
  it('is a blocker by real path (through a symlink), in preflight and in run, even when ignored by name', async () => {
    const link = join(work, 'link-to-data-root');
    symlinkSync(daemon.dataRoot, link);
    const stateDir = join(link, 'devmapper-migrate');
    const preflight = await runCli(['--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, 'preflight', '--json'], { CI: 'true' });
    expect(preflight.code, preflight.stderr).toBe(1);
    const entries = (JSON.parse(preflight.stdout) as { entries: ReportEntry[] }).entries;
    expect(entries.find((e) => e.key === 'state-dir-inside-data-root')).toMatchObject({ severity: 'blocker' });

    const file = answers('ignored.yaml', ['service:', '  manager: command', `  stop: bash ${daemon.stopScript}`, `  start: bash ${daemon.startScript}`, 'ignoreBlockers: [state-dir-inside-data-root, backup-dir-inside-data-root]']);
    const run = await runCli(['--state-dir', stateDir, '--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, 'run', '--answers', file, '--yes'], { CI: 'true' });
    // Naming an unwaivable blocker in ignoreBlockers is itself refused, before anything is done.
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('state-dir-inside-data-root');
    expect(run.stderr).toContain('cannot be overridden');
    expect(existsSync(join(daemon.dataRoot, 'devmapper-migrate'))).toBe(false);
  }, 300_000);
});
