// A running container started with --rm: stopping it deletes it, with its writable layer and
// anonymous volumes, and the run cannot carry it. Preflight said the run recreated it "from the
// record", which was untrue (the run failed at the next step and rolled back without it): now
// the run refuses to start while one runs, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureDist } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { APP, cli, explain, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
const EPHEMERAL = 'fault-ephemeral';

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('rm-containers');
  await docker(rig.daemon, 'run', '-d', '--rm', '--name', EPHEMERAL, '--entrypoint', 'sh', APP, '-c', "trap 'exit 0' TERM; while :; do sleep 1; done");
}, 600_000);

afterAll(() => tearDown(rig));

describe('a running --rm container', () => {
  it('is a blocker of preflight, naming it', async () => {
    const result = await cli(rig!, ['preflight']);
    expect(result.code, explain(rig!, result)).toBe(1);
    expect(result.stdout).toMatch(/BLOCKER Running containers started with --rm \[containers-auto-remove\]/);
    expect(result.stdout).toMatch(/fault-ephemeral was started with --rm: .*the run cannot carry such containers/s);
  });

  it('keeps the run from starting: nothing is stopped or changed', async () => {
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes']);
    expect(result.code, explain(rig!, result)).toBe(1);
    expect(result.stderr).toContain('containers-auto-remove cannot be overridden');
    expect(await docker(rig!.daemon, 'inspect', '--format', '{{.State.Running}}', EPHEMERAL)).toBe('true');
    const now = await hostSnapshot(rig!.daemon);
    expect(now.driver).toBe('vfs');
    expect(Object.fromEntries(Object.entries(now.containers).filter(([name]) => name !== EPHEMERAL))).toEqual(rig!.before.containers);
  }, 600_000);

  it('cannot be overridden in an answers file (exit 2, before anything is done)', async () => {
    writeAnswers(rig!, { extra: 'ignoreBlockers: [containers-auto-remove]' });
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes']);
    expect(result.code, explain(rig!, result)).toBe(2);
    expect(result.stderr).toContain('"containers-auto-remove": it cannot be overridden');
    expect(await docker(rig!.daemon, 'inspect', '--format', '{{.State.Running}}', EPHEMERAL)).toBe('true');
  }, 600_000);
});
