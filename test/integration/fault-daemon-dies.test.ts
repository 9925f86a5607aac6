// The daemon dies during the restore (issue 10): SIGKILL to the target dockerd right after the
// first image is loaded (the test hook DEVMAPPER_MIGRATE_TEST_KILL_AT with
// DEVMAPPER_MIGRATE_TEST_KILL_PIDFILE, which kills the daemon instead of the tool).
// With rollbackOnFailure (the default) the run rolls back by itself: exit 3, the original host
// on vfs. Without it the run stops (exit 4, state kept); once the operator has the daemon up
// again, `resume` finishes the migration and `verify` is clean.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../rig/index.js';
import { cli, explain, expectHost, readState, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('daemon-dies');
}, 600_000);

afterAll(async () => {
  await tearDown(rig);
});

async function untilGone(pid: number): Promise<void> {
  for (let i = 0; i < 60 && existsSync(`/proc/${pid}`); i++) await new Promise((resolve) => setTimeout(resolve, 500));
}

/** The environment that makes the run kill the rig's daemon in the middle of load-images. */
function killDaemonMidLoad(): NodeJS.ProcessEnv {
  return { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'load-images:middle', DEVMAPPER_MIGRATE_TEST_KILL_PIDFILE: rig!.daemon.pidFile };
}

describe('the daemon dies in the middle of the restore', () => {
  it('with rollbackOnFailure: the run rolls back by itself, exit 3, the original host on vfs', async () => {
    // Unstaged, so that the daemon dies while images load into it (a staged run's load-images
    // only checks what stage-images put there; the test below runs staged).
    writeAnswers(rig!, { extra: 'staging: off\n' });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], killDaemonMidLoad());
    expect(result.code, explain(rig!, result)).toBe(3);
    expect(result.stderr).toMatch(/load-images/);
    expect(result.stderr).toMatch(/back on vfs/);
    expect(readState(rig!.stateDir).status).toBe('rolled-back');
    await expectHost(rig!, 'vfs');
  }, 300_000);

  it('without it: the run stops (exit 4) naming resume; with the daemon up again, resume finishes and verify is clean', async () => {
    rig!.stateDir = `${rig!.work}/state-resume`;
    writeAnswers(rig!, { extra: 'rollbackOnFailure: false\n' });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], killDaemonMidLoad());
    expect(result.code, explain(rig!, result)).toBe(4);
    expect(result.stderr).toMatch(/resume/);
    expect(readState(rig!.stateDir).status).toBe('failed');
    // The operator brings the daemon back the way the host runs it (here: the rig's start script),
    // once the killed daemon is reaped (dockerd refuses a pid file naming even a zombie).
    await untilGone(Number(readFileSync(rig!.daemon.pidFile, 'utf8')));
    await execa('bash', [rig!.daemon.startScript]);
    const resumed = await cli(rig!, ['resume', '--yes']);
    expect(resumed.code, explain(rig!, resumed, 'resume')).toBe(0);
    const verified = await cli(rig!, ['verify']);
    expect(verified.code, explain(rig!, verified, 'verify')).toBe(0);
    await expectHost(rig!, 'overlay2');
  }, 400_000);
});
