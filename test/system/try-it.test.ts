// The README's "try it safely" path (`npm run try`) without a person at the console: the same
// guest (scenarios/try-it.sh) runs a few of the commands its banner suggests, through the
// shell setup a person gets (the devmapper-migrate function in /root/.bashrc).
import { afterAll, describe, expect, it } from 'vitest';
import { outputFile } from './results.js';
import { bootGuest, killAllGuests, scenarioPath } from './vm.js';

afterAll(killAllGuests);

describe('npm run try: the throwaway devicemapper host', () => {
  it('boots with its workload on devicemapper, and the banner’s commands work in its shell', async () => {
    const commands = [
      'docker info --format "driver={{.Driver}}"',
      'docker ps -a --format "{{.Names}}" | sort | tr "\\n" " "; echo',
      'devmapper-migrate preflight >/dev/null; echo "preflight rc=$?"',
      'devmapper-migrate run --dry-run --answers /root/answers.yaml | head -n 1',
    ].join('; ');
    const result = await bootGuest({
      scenario: scenarioPath('try-it'),
      disks: [{ name: 'data', sizeMB: 8192 }, { name: 'spare', sizeMB: 4096 }],
      timeoutMs: 900_000,
      env: { DMM_TRY_COMMANDS: commands },
    });
    expect(result.exitCode, 'scenario exit code').toBe(0);
    const output = outputFile(result, 'try.txt');
    console.log(`try-it: what the shell printed:\n${output}`);
    expect(outputFile(result, 'try.rc').trim(), output).toBe('0');
    expect(output).toContain('driver=devicemapper');
    expect(output).toMatch(/\bweb\b/);
    // preflight exits 1 on a blocker (the guest may have some); 0 or 1 both mean it read the host.
    expect(output).toMatch(/preflight rc=[01]\b/);
    expect(output).toMatch(/^Plan: migrate to overlay2/m);
  });
});
