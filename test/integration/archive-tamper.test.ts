// An archive changed between the save and the restore (issue 19 item 11): a run restores as
// root what it kept, so an archive whose bytes are not those it wrote (the sha256 recorded at
// write time) must be refused right before it is loaded or extracted. Here a file is appended
// to the kept writable layer of a container while the run is stopped after the daemon started
// on overlay2; the resume must refuse it by name and roll back, and the file must reach no
// container.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerTry, ensureDist, runOk } from '../rig/index.js';
import { cli, currentRun, explain, expectHost, KILLED, setUpRig, tearDown, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('tamper');
}, 600_000);

afterAll(() => tearDown(rig));

describe('a kept writable layer changed before the restore', () => {
  it('is refused by name before it reaches the container; the run rolls back to the original host', async () => {
    const killed = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'start-daemon:after' });
    expect(killed.code, explain(rig!, killed)).toBe(KILLED);
    const archive = join(currentRun(rig!.stateDir).runDir, 'layers', 'fault-worker.tar');
    const extra = join(rig!.work, 'extra');
    mkdirSync(join(extra, 'root'), { recursive: true });
    writeFileSync(join(extra, 'root', 'planted.txt'), 'not what the container had\n');
    await runOk('tar', ['-C', extra, '-rf', archive, 'root/planted.txt']);

    const resumed = await cli(rig!, ['resume', '--yes']);
    expect(resumed.code, explain(rig!, resumed)).toBe(3);
    expect(resumed.stderr).toContain(`The archive of the writable layer of fault-worker, ${archive}, changed since this run wrote it`);
    await expectHost(rig!, 'vfs');
    await docker(rig!.daemon, 'start', 'fault-worker').catch(() => undefined);
    const planted = await dockerTry(rig!.daemon, 'exec', 'fault-worker', 'cat', '/root/planted.txt');
    expect(planted.code).not.toBe(0);
  }, 600_000);
});
