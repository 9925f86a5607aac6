// An archive changed between the save and the restore (issue 19 item 11): a run restores as
// root what it kept, so an archive whose bytes are not those it wrote (the sha256 recorded at
// write time) must be refused right before it is loaded or extracted. Here a file is appended
// to the kept writable layer of a container while the run is stopped after the daemon started
// on overlay2; the resume must refuse it by name and roll back, and the file must reach no
// container.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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

describe('a kept image archive changed before its load', () => {
  it('is refused by name during its load, with the sha256 found and recorded; the run rolls back to the original host', async () => {
    const killed = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'save-images:after' });
    expect(killed.code, explain(rig!, killed)).toBe(KILLED);
    const images = join(currentRun(rig!.stateDir).runDir, 'images');
    const extra = join(rig!.work, 'extra-image');
    mkdirSync(extra, { recursive: true });
    writeFileSync(join(extra, 'planted.txt'), 'not what the image had\n');
    const archives = readdirSync(images).filter((name) => name.endsWith('.tar'));
    expect(archives.length).toBeGreaterThan(0);
    for (const name of archives) await runOk('tar', ['-C', extra, '-rf', join(images, name), 'planted.txt']);

    const resumed = await cli(rig!, ['resume', '--yes']);
    expect(resumed.code, explain(rig!, resumed)).toBe(3);
    expect(resumed.stderr).toMatch(new RegExp(`The archive of the image [^,]+, ${images}/[0-9a-f]{64}\\.tar, changed since this run wrote it \\(its sha256 is [0-9a-f]{64}, the run recorded [0-9a-f]{64}\\); it is not restored\\.`));
    // Staged (the rig's default): refused while the private dockerd loads it, before the stop.
    expect(resumed.stderr).toMatch(/The run failed at (stage-images|load-images): The archive of the image /);
    await expectHost(rig!, 'vfs');
  }, 600_000);
});
