/**
 * Runs the wizard with the real inquirer prompts on this process's terminal, for
 * wizard-tty.test.ts (bundled with esbuild and run in a tmux pane). Writes what it got to the
 * file named by its first argument: the answers, whether the password came back as typed
 * (never the password itself), and the confirmation.
 */
import { writeFileSync } from 'node:fs';
import { resolveAnswers } from '../../../src/config/answers.js';
import { inquirerPrompter } from '../../../src/cli/prompter.js';
import { askAnswers, confirmPlan, type WizardChoices } from '../../../src/cli/wizard.js';
import { OperatorError } from '../../../src/errors.js';

const out = process.argv[2]!;
const expectedPassword = process.argv[3] ?? '';

const choices: WizardChoices = {
  blockDevices: [
    { path: '/dev/sda', type: 'disk', sizeBytes: 53_687_091_200, mountPoints: ['/boot', '/'], disabledReason: 'in use: /boot, /' },
    { path: '/dev/sdb', type: 'disk', sizeBytes: 107_374_182_400, mountPoints: [], disabledReason: 'holds the current devicemapper pool docker-thinpool' },
    { path: '/dev/sdc', type: 'disk', sizeBytes: 107_374_182_400, mountPoints: [] },
    { path: '/dev/sdd', type: 'disk', sizeBytes: 21_474_836_480, fsType: 'xfs', mountPoints: [], disabledReason: 'holds an xfs filesystem or signature' },
  ],
  images: [
    { value: 'app/web:1.0', label: 'app/web:1.0  212 MB' },
    { value: 'app/db:2.1', label: 'app/db:2.1  80 MB' },
  ],
  containers: [{ value: 'web', label: 'web  app/web:1.0  running' }],
  volumes: [{ value: 'dbdata', label: 'dbdata  1.2 GB  used by db' }],
  blockers: [{ key: 'rm-containers', title: 'Containers started with --rm' }],
  space: { neededBytes: 1_500_000_000, freeBytes: 40_000_000_000, directory: '/var/lib/devmapper-migrate' },
};

try {
  const prompter = inquirerPrompter();
  const { answers, secrets } = await askAnswers({}, choices, prompter);
  const go = await confirmPlan(prompter, 'Start the migration?');
  resolveAnswers(answers, { secrets });
  const password = secrets['registry.password'];
  writeFileSync(out, JSON.stringify({ answers, secretKeys: Object.keys(secrets), passwordAsTyped: password === expectedPassword, go }));
} catch (error) {
  const exitCode = error instanceof OperatorError ? error.exitCode : undefined;
  writeFileSync(out, JSON.stringify({ error: (error as Error).message, exitCode }));
}
process.stdout.write('DRIVER-DONE\n');
