// `npm run try` (scripts/try-it.mjs bundles and runs this): the README's "try it safely" path.
// Prepares the system tier's kit and build, then boots a guest with a devicemapper host and
// its workload (scenarios/try-it.sh) on this terminal, for a person to run the tool in.
import path from 'node:path';
import setup from './global-setup.js';
import { runGuestOnTerminal, SYSTEM_DIR } from './vm.js';

const GIB = 1024;

export async function tryIt(): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write('npm run try needs a terminal: it gives you a shell in the guest.\n');
    return 2;
  }
  setup();
  process.stdout.write(
    'Booting a throwaway devicemapper host (qemu, software emulation: about a minute)…\n' +
      'Its disks are temporary files, its root a tmpfs over this machine’s, read-only: nothing here changes.\n' +
      'Ctrl-A X quits qemu at any time.\n\n',
  );
  const code = await runGuestOnTerminal({
    scenario: path.join(SYSTEM_DIR, 'scenarios', 'try-it.sh'),
    disks: [
      { name: 'data', sizeMB: 8 * GIB },
      { name: 'spare', sizeMB: 4 * GIB },
    ],
    memoryMB: 2048,
  });
  process.stdout.write(code === undefined ? '\nqemu was quit; the guest is gone.\n' : `\nThe guest powered off (setup exit ${code}); it is gone.\n`);
  return code ?? 0;
}
