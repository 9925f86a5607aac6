/**
 * The wizard's real prompts (@inquirer/prompts) on a pseudo-terminal: a private tmux server
 * runs wizard-tty-driver.ts (bundled with esbuild), the test types keystrokes once the
 * question they answer is on the screen, and checks what the wizard returned and showed.
 * Needs tmux (Debian package "tmux").
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questionFor } from '../../../src/config/questions.js';
import { TmuxTerminal } from '../../tty/tmux-terminal.js';

const message = (key: string) => questionFor(key)!.message;

let dir: string;
let driver: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-wizard-tty-'));
  driver = path.join(dir, 'driver.mjs');
  await build({
    entryPoints: [path.resolve('test/unit/cli/wizard-tty-driver.ts')],
    outfile: driver,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node16',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the wizard on a terminal (tmux)', () => {
  it('is driven by arrow keys, space and typing, masks the password, and returns what was chosen', async () => {
    const out = path.join(dir, 'answers.json');
    const password = 'hunter2-tty';
    const term = new TmuxTerminal(dir);
    try {
      await term.start(`NO_COLOR=1 ${process.execPath} ${driver} ${out} ${password}; sleep 600`);
      await term.answer(message('target'), 'Down', 'Enter');
      // The cursor starts on the first usable device; Up cannot reach the disabled ones above it.
      const devices = await term.waitFor(message('directLvm.device'));
      expect(devices).toMatch(/\/dev\/sda\s+54 GB\s+disk\s+on \/boot, \/.*in use: \/boot, \//);
      expect(devices).toContain('holds the current devicemapper pool docker-thinpool');
      await term.keys('Up', 'Up', 'Enter');
      await term.answer(message('directLvm.wipeSignatures'), 'Enter');
      await term.answer(message('directLvm.thinpoolPercent'), 'Enter');
      await term.answer(message('directLvm.metadataPercent'), 'Enter');
      // A bad number is refused on the spot with the answers file's words, then corrected.
      await term.waitFor(message('directLvm.autoextendThreshold'));
      await term.type('40');
      await term.keys('Enter');
      await term.waitFor('Must be a whole number from 50 to 100');
      await term.keys('BSpace', 'BSpace');
      await term.type('90');
      await term.keys('Enter');
      await term.answer(message('directLvm.autoextendPercent'), 'Enter');
      // All images preselected: Down to the second one, Space unselects it.
      await term.answer(message('images.include'), 'Down', 'Space', 'Enter');
      await term.answer(message('images.save'), 'Enter');
      await term.answer(message('images.push'), 'y', 'Enter');
      await term.typeAnswer(message('registry.address'), 'registry.local:5000');
      await term.answer(message('registry.repositoryPrefix'), 'Enter');
      await term.typeAnswer(message('registry.username'), 'deploy');
      await term.answer(message('registry.passwordEnv'), 'Enter');
      await term.answer(message('registry.passwordFile'), 'Enter');
      await term.typeAnswer(message('registry.password'), password);
      await term.answer(message('registry.insecure'), 'Enter');
      await term.answer(message('containers.include'), 'Enter');
      await term.answer(message('containers.keepWritableLayer'), 'Enter');
      await term.answer(message('volumes.include'), 'Enter');
      await term.answer(message('volumes.archive'), 'Enter');
      await term.answer(message('backup.directory'), 'Enter');
      await term.answer(message('backup.dataRoot'), 'Enter');
      await term.answer(message('service.manager'), 'Down', 'Down', 'Down', 'Enter');
      await term.typeAnswer(message('service.stop'), '/opt/rig/stop.sh');
      await term.typeAnswer(message('service.start'), '/opt/rig/start.sh');
      await term.answer(message('service.timeoutSeconds'), 'Enter');
      await term.answer(message('rollbackOnFailure'), 'Enter');
      await term.answer(message('ignoreBlockers'), 'Space', 'Enter');
      await term.waitFor('Start the migration?');
      await term.keys('y', 'Enter');
      const screen = await term.waitFor('DRIVER-DONE');

      const result = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
      expect(result).toEqual({
        answers: {
          target: 'direct-lvm',
          directLvm: { device: '/dev/sdc', wipeSignatures: false, thinpoolPercent: 95, metadataPercent: 1, autoextendThreshold: 90, autoextendPercent: 20 },
          images: { include: ['*'], exclude: ['app/db:2.1'], save: true, push: true },
          registry: { address: 'registry.local:5000', repositoryPrefix: 'migrated/', username: 'deploy', insecure: false },
          containers: { include: ['*'], exclude: [], keepWritableLayer: true },
          volumes: { include: ['*'], exclude: [], archive: true },
          backup: { directory: '/var/lib/devmapper-migrate', dataRoot: 'move' },
          service: { manager: 'command', stop: '/opt/rig/stop.sh', start: '/opt/rig/start.sh', timeoutSeconds: 300 },
          rollbackOnFailure: true,
          ignoreBlockers: ['rm-containers'],
        },
        secretKeys: ['registry.password'],
        passwordAsTyped: true,
        go: true,
      });
      // Typed masked: stars on the screen, never the password.
      expect(screen).not.toContain(password);
      expect(screen).toContain('*'.repeat(password.length));
    } finally {
      await term.kill();
    }
  }, 120_000);

  it('Ctrl+C at a prompt stops the wizard with exit code 130 and a plain message', async () => {
    const out = path.join(dir, 'interrupted.json');
    const term = new TmuxTerminal(dir);
    try {
      await term.start(`NO_COLOR=1 ${process.execPath} ${driver} ${out}; sleep 600`);
      await term.answer(message('target'), 'C-c');
      await term.waitFor('DRIVER-DONE');
      expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ error: 'the wizard was interrupted; nothing was changed', exitCode: 130 });
    } finally {
      await term.kill();
    }
  }, 60_000);
});
