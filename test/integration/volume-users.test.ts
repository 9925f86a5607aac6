// A container the run leaves out but that mounts a volume the run carries (issue 19, item 8):
// it keeps writing to the volume, so it must stop with the others before the volume's files are
// described and archived, or the restored volume differs from its description (verify fails)
// and the archive is of a volume in motion. A rollback starts it again: the state it had.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureDist } from '../rig/index.js';
import { APP, cli, currentRun, explain, setUpRig, tearDown, VOLUME, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('volume-users');
  // No restart policy: only the tool can have started it again after a rollback.
  const writer = `trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo $i > /data/counter; sleep 0.2; done`;
  await docker(rig.daemon, 'run', '-d', '--name', 'fault-bystander', '-v', `${VOLUME}:/data`, '--entrypoint', 'sh', APP, '-c', writer);
  writeAnswers(rig, { extra: 'containers:\n  exclude: [fault-bystander]' });
}, 600_000);

afterAll(() => tearDown(rig));

const state = (name: string) => docker(rig!.daemon, 'inspect', '--format', '{{.State.Status}}', name);

describe('a running container left out of the run that mounts a carried volume', () => {
  it('is stopped before the volumes are read: the run verifies clean', async () => {
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes']);
    expect(result.code, explain(rig!, result)).toBe(0);
    const log = readFileSync(join(currentRun(rig!.stateDir).runDir, 'run.log'), 'utf8');
    const stopped = log.indexOf('Stopping fault-bystander too: it is not migrated, but it mounts fault-data');
    expect(stopped, log).toBeGreaterThan(-1);
    expect(stopped).toBeLessThan(log.indexOf('Archiving volume fault-data'));
  }, 600_000);

  it('is running again after a rollback', async () => {
    const result = await cli(rig!, ['rollback', '--yes']);
    expect(result.code, explain(rig!, result)).toBe(0);
    expect(await state('fault-bystander')).toBe('running');
  }, 600_000);
});
