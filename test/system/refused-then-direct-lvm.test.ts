// Issue 7, scenarios 4 and 3 in one guest: a run whose target start is refused rolls back by
// itself (exit 3); then the same loop-lvm host moves to a direct-lvm thin pool that the tool
// builds on the spare disk (scenarios/refused-then-direct-lvm.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerInfo } from './results.js';
import { explain, failedChecks, logSummary, outputFile, stages, toolRun } from './tool-results.js';
import { bootGuest, killAllGuests, scenarioPath, type GuestResult } from './vm.js';

let result: GuestResult;

/**
 * A dmm_snapshot without what a daemon restart changes by itself (the default bridge network's
 * id; user networks are compared by networks-*.txt) and without the run's own entries in the
 * data-root's top level, which are returned apart.
 */
function comparable(snapshot: string): { text: string; kept: string[] } {
  const kept: string[] = [];
  let section = '';
  const lines = snapshot.split('\n').filter((line) => {
    if (line.startsWith('# ')) section = line;
    else if (section === '# networks') return false;
    else if (section === '# data-root' && line.startsWith('.devmapper-migrate-')) {
      kept.push(line);
      return false;
    }
    return true;
  });
  return { text: lines.join('\n'), kept };
}

beforeAll(async () => {
  result = await bootGuest({
    scenario: scenarioPath('refused-then-direct-lvm'),
    disks: [
      { name: 'data', sizeMB: 8192 },
      { name: 'spare', sizeMB: 4096 },
      { name: 'oldpool', sizeMB: 1024 },
    ],
    timeoutMs: 1_500_000,
  });
  logSummary('refused-then-direct-lvm', result, ['before', 'after-refused', 'after'], ['run-refused', 'run-lvm', 'verify']);
}, 1_600_000);

afterAll(killAllGuests);

describe('a refused cutover, then loop-lvm → direct-lvm (real device-mapper kernel)', () => {
  it('scenario 4: the target start refused → exit 3, back on devicemapper, old containers running, host unchanged', () => {
    expect(dockerInfo(result, 'before').Driver).toBe('devicemapper');
    const run = toolRun(result, 'run-refused');
    expect(run?.rc, explain(result, 'run-refused', 'after-refused')).toBe(3);
    // The operator is told where the host is and why, in dockerd's own words.
    expect(run?.stderr, explain(result, 'run-refused')).toMatch(/back on devicemapper with its original images and containers/);
    expect(run?.stderr, explain(result, 'run-refused')).toMatch(/overlay2\.size not supported/);
    const back = dockerInfo(result, 'after-refused');
    expect(back.Driver).toBe('devicemapper');
    expect(back.status.get('Data loop file')).toBe('/var/lib/docker/devicemapper/devicemapper/data');
    // Images, containers (same ids and states), volumes, daemon.json, the data-root's top level,
    // mounts and LVM as before the run; the user networks with the same ids and IPAM.
    const snapshotBefore = comparable(outputFile(result, 'snapshot-before.txt'));
    const snapshotAfter = comparable(outputFile(result, 'snapshot-after-refused.txt'));
    expect(snapshotAfter.text).toBe(snapshotBefore.text);
    expect(outputFile(result, 'networks-after-refused.txt')).toBe(outputFile(result, 'networks-before.txt'));
    // What the refused target left in the data-root is kept aside under the run's name (nothing
    // is deleted before finalize); nothing else is new there.
    expect(snapshotAfter.kept.every((name) => /^\.devmapper-migrate-[\w-]+\.target$/.test(name)), snapshotAfter.kept.join(' ')).toBe(true);
    if (snapshotAfter.kept.length) console.log(`refused-then-direct-lvm: kept in the data-root after the refused run: ${snapshotAfter.kept.join(' ')}`);
    // "refused-and-rolled-back": the guest checked that web runs again with its IP, port,
    // volume and writable layer, and that job is stopped with its file.
    expect(failedChecks(result).filter((f) => f.startsWith('refused:')), explain(result, 'run-refused', 'after-refused')).toEqual([]);
    expect(stages(result), explain(result, 'run-refused', 'after-refused')).toContain('refused-and-rolled-back');
  });

  it("scenario 3: run to direct-lvm builds the run's own tagged pool on the spare disk, docker/thinpool untouched; no loop files; verify clean", () => {
    const run = toolRun(result, 'run-lvm');
    expect(run?.rc, explain(result, 'run-lvm', 'after-lvm')).toBe(0);
    const after = dockerInfo(result, 'after');
    expect(after.Driver).toBe('devicemapper');
    // Issue 19, item 1: the new pool has a name of its own (the run's), never Docker's docker/thinpool.
    const poolName = after.status.get('Pool Name') ?? '';
    const runVg = /^(dmmigrate_\d{8}_\d{6}_[0-9a-f]{4})-thinpool$/.exec(poolName)?.[1];
    expect(runVg, `Pool Name ${poolName}`).toBeDefined();
    expect(after.status.has('Data loop file')).toBe(false);
    expect(after.status.has('Metadata loop file')).toBe(false);
    const facts = outputFile(result, 'facts-after.txt');
    const runTag = `devmapper-migrate-run-${runVg!.slice('dmmigrate_'.length).replace(/_/g, '-')}`;
    // The volume group carries the run's tag: undo removes nothing without it.
    expect(facts).toMatch(new RegExp(`${runVg}\\s+thinpool\\s+twi-a\\S*\\s+\\S+\\s+${runTag}\\s*$`, 'm'));
    expect(facts).toMatch(new RegExp(`^\\s*${runVg}\\s+${runTag}\\s*$`, 'm'));
    expect(facts).toMatch(new RegExp(`/dev/vd[a-z]\\s+${runVg}`));
    // Docker's documented pool on the third disk is the same LV as before the run.
    expect(facts).toMatch(/docker\s+thinpool\s+twi-a/);
    const uuidBefore = outputFile(result, 'oldpool-uuid-before.txt').trim();
    expect(uuidBefore).not.toBe('');
    expect(outputFile(result, 'oldpool-uuid-after.txt').trim()).toBe(uuidBefore);
    expect(facts.split('# loop devices')[1]?.split('# dmsetup')[0]?.trim()).toBe('');
    expect(toolRun(result, 'verify')?.rc, explain(result, 'verify', 'after-lvm')).toBe(0);
    expect(failedChecks(result).filter((f) => f.startsWith('direct-lvm:')), explain(result, 'run-lvm', 'after-lvm')).toEqual([]);
    expect(stages(result), explain(result, 'run-lvm', 'after-lvm')).toContain('migrated-to-direct-lvm');
  });
});
