// `devmapper-migrate run` on a terminal, as an operator uses it: the single-file build runs in
// a tmux pane against a rig dockerd on vfs; the test answers the wizard by keystrokes (the
// `command` service manager with the rig's own stop.sh/start.sh), confirms, and the run
// completes: exit 0, the daemon on overlay2, the workload back, the answers saved for an
// unattended repeat. DMM_UPDATE_DOCS=1 also writes the screen to docs/wizard-run.txt.
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questionFor } from '../../src/config/questions.js';
import { BASE_IMAGE, buildImage, DIST, docker, ensureDist, REPO_ROOT, seedBaseImage, startDockerd, startRegistry, type DaemonHandle, type RegistryHandle } from '../rig/index.js';
import { TmuxTerminal } from '../tty/tmux-terminal.js';

const APP = 'wizard-test/app:1';
const VOLUME = 'wizard-data';
const message = (key: string) => questionFor(key)!.message;

let daemon: DaemonHandle;
let registry: RegistryHandle;
let work: string;
let stateDir: string;

beforeAll(async () => {
  await ensureDist();
  // A short path: the tmux socket lives here.
  work = mkdtempSync(join(tmpdir(), 'dmm-wiz-'));
  stateDir = join(work, 'state');
  daemon = await startDockerd({ name: 'wizard-run', storageDriver: 'vfs' });
  registry = await startRegistry({ auth: true });
  await seedBaseImage(daemon);
  await buildImage(daemon, APP, `FROM ${BASE_IMAGE}\nCMD ["sleep","3600"]\n`);
  await docker(daemon, 'volume', 'create', VOLUME);
  await docker(daemon, 'run', '-d', '--name', 'wiz-db', '-v', `${VOLUME}:/data`, APP, 'sh', '-c', 'echo kept > /data/note.txt && exec sleep 3600');
  await docker(daemon, 'run', '-d', '--name', 'wiz-web', APP);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `devmapper-migrate run` in the pane, on a terminal (no CI variable), then its exit code as "EXIT=N". */
function startRun(term: TmuxTerminal, daemonConfig: string, width: number): Promise<void> {
  return term.start(
    `env -u CI -u DOCKER_HOST NO_COLOR=1 ${process.execPath} ${DIST} --state-dir ${stateDir} ` +
      `--docker-host ${daemon.dockerHost} --daemon-config ${daemonConfig} run; echo "EXIT=$?"; sleep 600`,
    width,
    60,
  );
}

/** The current run's report.txt, for a failing assertion's message. */
function currentReport(): string {
  try {
    const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
    return readFileSync(join(stateDir, 'runs', runId, 'report.txt'), 'utf8');
  } catch (error) {
    return `(no report: ${(error as Error).message})`;
  }
}

/** The screen without this run's temporary paths, for the docs. */
function normalised(screen: string): string {
  return `${screen
    .replaceAll(work, '/tmp/dmm-wiz')
    .replaceAll(daemon.dir, '/srv/rig')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

describe('run with the wizard on a terminal', () => {
  it('shows the blockers right after the target question, and keeps the answers when it stops there', async () => {
    // A daemon.json that is not JSON: a blocker for any target, known before any question.
    const broken = join(work, 'broken-daemon.json');
    writeFileSync(broken, '{ "storage-driver": ');
    const term = new TmuxTerminal(work);
    try {
      await startRun(term, broken, 400); // wide: the question names the blockers on one line
      await term.answer(message('target'), 'Enter'); // overlay2
      const asked = await term.waitFor(['Go on with the questions anyway?', 'EXIT='], 60_000);
      expect(asked, asked).toMatch(/Preflight for overlay2 found \d+ blocker\(s\): .*daemon-json-invalid/s);
      expect(asked).not.toContain(message('images.include'));
      await term.keys('Enter'); // no, the default
      const screen = await term.waitFor('EXIT=', 60_000);
      expect(screen, screen).toMatch(/^EXIT=1$/m);
      expect(screen).toContain('Nothing was changed');
      expect(screen).toContain(`devmapper-migrate run --answers ${join(stateDir, 'wizard-answers.json')}`);
    } finally {
      await term.kill();
    }
    expect(JSON.parse(readFileSync(join(stateDir, 'wizard-answers.json'), 'utf8'))).toEqual({ target: 'overlay2' });
    expect(existsSync(join(stateDir, 'current'))).toBe(false);
    expect(await docker(daemon, 'info', '--format', '{{.Driver}}')).toBe('vfs');
  }, 300_000);

  it('checks a device path typed for direct-lvm when it is given, against the host\'s devices', async () => {
    const term = new TmuxTerminal(work);
    try {
      await startRun(term, daemon.configFile, 400);
      await term.answer(message('target'), 'Down', 'Enter'); // direct-lvm
      // This machine may lack LVM (a blocker, asked about at once) or not: go on either way.
      const next = await term.waitFor([message('directLvm.device'), 'Go on with the questions anyway?'], 60_000);
      if (!next.includes(message('directLvm.device'))) await term.keys('y', 'Enter');
      // The list's last choice types a path; select lists loop, so Up from the first gets there.
      let screen = await term.waitFor(message('directLvm.device'), 60_000);
      for (let i = 0; i < 30 && !/❯ Another device \(type its path\)/.test(screen); i++) {
        await term.keys('Up');
        await new Promise((resolve) => setTimeout(resolve, 150));
        screen = await term.screen();
      }
      await term.keys('Enter');
      await term.typeAnswer('(its path, like', '/dev/dmm-not-here');
      screen = await term.waitFor('There is no block device /dev/dmm-not-here on this host', 30_000);
      expect(screen).toContain('(lsblk does not list it)');
      await term.keys('C-c');
      await term.waitFor('EXIT=', 30_000);
    } finally {
      await term.kill();
    }
    expect(existsSync(join(stateDir, 'current'))).toBe(false);
  }, 300_000);

  it('is answered by keystrokes, confirmed, and completes the migration to overlay2', async () => {
    expect(await docker(daemon, 'info', '--format', '{{.Driver}}')).toBe('vfs');
    const term = new TmuxTerminal(work);
    let screen = '';
    try {
      await startRun(term, daemon.configFile, 120);
      await term.answer(message('target'), 'Enter'); // overlay2, the first choice
      await term.answer(message('images.include'), 'Enter'); // all, as preselected
      await term.answer(message('images.save'), 'Enter');
      // Push to the rig's registry with a password typed at the masked prompt.
      await term.answer(message('images.push'), 'y', 'Enter');
      await term.typeAnswer(message('registry.address'), registry.address);
      await term.typeAnswer(message('registry.repositoryPrefix'), '');
      await term.typeAnswer(message('registry.username'), registry.username);
      await term.typeAnswer(message('registry.passwordEnv'), '');
      await term.typeAnswer(message('registry.passwordFile'), '');
      await term.typeAnswer(message('registry.password'), registry.password);
      await term.answer(message('registry.insecure'), 'y', 'Enter'); // plain HTTP on 127.0.0.1
      await term.answer(message('containers.include'), 'Enter');
      await term.answer(message('containers.keepWritableLayer'), 'Enter');
      await term.answer(message('volumes.include'), 'Enter');
      await term.answer(message('volumes.archive'), 'Enter');
      await term.answer(message('backup.directory'), 'Enter');
      await term.answer(message('backup.dataRoot'), 'Enter');
      await term.answer(message('service.manager'), 'Down', 'Down', 'Down', 'Enter'); // command
      await term.typeAnswer(message('service.stop'), `bash ${daemon.stopScript}`);
      await term.typeAnswer(message('service.start'), `bash ${daemon.startScript}`);
      await term.typeAnswer(message('service.timeoutSeconds'), '');
      await term.answer(message('rollbackOnFailure'), 'Enter');
      const next = await term.waitFor([message('ignoreBlockers'), 'Start the migration', 'EXIT='], 60_000);
      // Blockers on the rig would be a finding in themselves: none is overridden here.
      if (next.includes(message('ignoreBlockers'))) await term.keys('Enter');
      const plan = await term.waitFor(['Start the migration', 'EXIT='], 60_000);
      expect(plan, plan).toMatch(/Plan: migrate to overlay2/);
      await term.keys('y', 'Enter');
      screen = await term.waitFor('EXIT=', 900_000);
      expect(screen, `${screen}\n--- report.txt\n${currentReport()}`).toMatch(/^EXIT=0$/m);
    } finally {
      screen = await term.screen().catch(() => screen);
      await term.kill();
      if (screen) {
        writeFileSync(join(work, 'wizard-run.txt'), screen);
        if (process.env.DMM_UPDATE_DOCS === '1') {
          mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
          writeFileSync(join(REPO_ROOT, 'docs', 'wizard-run.txt'), normalised(screen));
        }
      }
    }

    // The host, not the tool's word: the daemon on overlay2 with the workload back.
    expect(await docker(daemon, 'info', '--format', '{{.Driver}}')).toBe('overlay2');
    expect(await docker(daemon, 'inspect', '--format', '{{.State.Running}}', 'wiz-db', 'wiz-web')).toBe('true\ntrue');
    expect(await docker(daemon, 'exec', 'wiz-db', 'cat', '/data/note.txt')).toBe('kept');
    expect(await docker(daemon, 'image', 'inspect', '--format', '{{.Id}}', APP)).toMatch(/^sha256:/);

    // The wizard's answers are saved (no secret in them) for an unattended repeat, and the
    // screen says what to add first, since the typed password is not saved.
    expect(screen).toMatch(/the registry password you typed is not saved, so add registry\.passwordEnv or registry\.passwordFile/);
    const runId = readFileSync(join(stateDir, 'current'), 'utf8').trim();
    const savedText = readFileSync(join(stateDir, 'runs', runId, 'answers.json'), 'utf8');
    expect(savedText).not.toContain(registry.password);
    expect(screen).not.toContain(registry.password); // typed at a masked prompt
    const saved = JSON.parse(savedText) as Record<string, unknown>;
    expect(saved).toMatchObject({
      target: 'overlay2',
      images: { include: ['*'], exclude: [], save: true, push: true },
      registry: { address: registry.address, username: registry.username, insecure: true },
      service: { manager: 'command', stop: `bash ${daemon.stopScript}`, start: `bash ${daemon.startScript}`, timeoutSeconds: 300 },
      rollbackOnFailure: true,
    });
  }, 1_200_000);
});
