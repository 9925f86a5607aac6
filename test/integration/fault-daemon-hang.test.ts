// The daemon's start command hangs on the target (issue 10): the start command never returns
// once daemon.json names overlay2. With service.timeoutSeconds short, the run gives up on it,
// rolls back automatically (exit 3) and the host is back on vfs with its original workload.
// (A start command that fails outright is covered in run-recovery.test.ts.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../rig/index.js';
import { findProcesses, killTrees } from '../rig/proc.js';
import { cli, explain, expectHost, readState, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
/** A word on the hanging command's command line, to find it afterwards. */
const MARKER = `dmm-hang-${process.pid}`;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('daemon-hang');
}, 600_000);

afterAll(async () => {
  try {
    await killTrees(findProcesses((cmd) => cmd.includes(MARKER)));
  } finally {
    await tearDown(rig);
  }
});

describe('a start command that hangs on the target', () => {
  it('is given up after service.timeoutSeconds: exit 3, back on vfs, the original host', async () => {
    const hanging = join(rig!.work, 'start-hangs-on-overlay2.sh');
    writeFileSync(
      hanging,
      `#!/bin/bash\n# Hangs (without starting dockerd) while daemon.json names overlay2; starts it otherwise.\nif grep -q overlay2 ${rig!.daemon.configFile}; then\n  exec -a ${MARKER} sleep 600\nfi\nexec bash ${rig!.daemon.startScript}\n`,
    );
    writeAnswers(rig!, { start: `bash ${hanging}`, timeoutSeconds: 20 });
    const started = Date.now();
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes']);
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, explain(rig!, result)).toBe(3);
    expect(result.stderr).toMatch(/start-daemon/);
    expect(result.stderr).toMatch(/20 ?s|timed? ?out|did not (start|answer|finish)|within/i);
    expect(result.stderr).toMatch(/back on vfs/);
    // Given up after about the timeout, not after the hanging command's 600 s.
    expect(seconds).toBeLessThan(120);
    await expectHost(rig!, 'vfs');
    expect(readState(rig!.stateDir).status).toBe('rolled-back');
  }, 300_000);

  // Found by this test and fixed: the timeout killed only the `sh -c` around the operator's
  // command, so a slow start command could still start dockerd later, behind the rollback's
  // back. Commands now run in a process group of their own, ended whole on a timeout.
  it('does not leave the timed-out start command running', () => {
    expect(findProcesses((cmd) => cmd.includes(MARKER)), 'the timed-out start command still runs').toEqual([]);
  });
});
