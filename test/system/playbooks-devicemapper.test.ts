// Issue 8 on a real devicemapper host: preflight.yml and migrate.yml (twice) run by Debian's
// ansible-playbook inside the guest with a local connection (scenarios/playbooks-devicemapper.sh).
// Judged by the PLAY RECAP, the reports the playbooks left on the "controller" (the guest's
// $DMM_OUT) and what the host ended up as.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenOutput, playRecap } from '../rig/ansible.js';
import { dockerInfo } from './results.js';
import { explain, failedChecks, logSummary, stages } from './tool-results.js';
import { bootGuest, killAllGuests, scenarioPath, type GuestResult } from './vm.js';

const HOST = 'dm-host';
let result: GuestResult;

interface PlaybookOutput {
  rc: number;
  stdout: string;
  flat: string;
}

function playbookRun(name: string): PlaybookOutput | undefined {
  const rc = result.files[`pb-${name}.rc`];
  if (rc === undefined) return undefined;
  const stdout = result.files[`pb-${name}.txt`] ?? '';
  return { rc: Number(rc.trim()), stdout, flat: flattenOutput(stdout) };
}

/** The guest's state and the playbook's output, for an assertion's message. */
function why(name: string): string {
  const run = playbookRun(name);
  const output = run ? `--- ansible-playbook (${name}): exit ${run.rc}\n${run.stdout.slice(-6000)}` : `--- ansible-playbook (${name}): never ran`;
  return `${explain(result, undefined, 'after-migrate')}\n${output}`;
}

function jsonFile<T>(path: string): T {
  const text = result.files[path];
  if (text === undefined) throw new Error(`the guest left no ${path}\n${why('migrate')}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  result = await bootGuest({
    scenario: scenarioPath('playbooks-devicemapper'),
    disks: [{ name: 'data', sizeMB: 8192 }],
    timeoutMs: 1_500_000,
  });
  logSummary('playbooks-devicemapper', result, ['before', 'after'], []);
}, 1_600_000);

afterAll(killAllGuests);

describe('fleet playbooks on a loop-lvm devicemapper host (real device-mapper kernel, local connection)', () => {
  it('preflight.yml: the fleet summary lists the host ready, devicemapper -> overlay2, and changes nothing but the install', () => {
    const pf = playbookRun('preflight');
    expect(pf?.rc, why('preflight')).toBe(0);
    expect(playRecap(pf!.stdout)[HOST], why('preflight')).toMatchObject({ failed: 0, unreachable: 0 });
    expect(pf!.stdout, why('preflight')).toMatch(/^\s+Fleet preflight: 1 host\(s\): 1 ready, 0 blocked/m);
    expect(pf!.stdout).toMatch(/^\s+ready +dm-host \(devicemapper -> overlay2, Docker \S+\)/m);
    const summary = jsonFile<{ hosts: number; ready: string[] }>('pb-reports/preflight-summary.json');
    expect(summary).toMatchObject({ hosts: 1, ready: [HOST] });
    const report = jsonFile<{ summary: { blockers: number } }>(`pb-reports/${HOST}/preflight.json`);
    expect(report.summary.blockers).toBe(0);
    // The scenario checked the driver right after it (dmm_expect_driver devicemapper).
    expect(stages(result), why('preflight')).toContain('preflight');
  });

  it('migrate.yml migrates the host to overlay2, verifies it and fetches its report; the workload is intact', () => {
    const mig = playbookRun('migrate');
    expect(mig?.rc, why('migrate')).toBe(0);
    expect(playRecap(mig!.stdout)[HOST], why('migrate')).toMatchObject({ failed: 0 });
    expect(playRecap(mig!.stdout)[HOST]?.changed, why('migrate')).toBeGreaterThan(0);
    expect(mig!.flat).toMatch(/msg: '?migrated: run \S+ is completed, verified clean/);
    expect(dockerInfo(result, 'before').Driver).toBe('devicemapper');
    const after = dockerInfo(result, 'after');
    expect(after.Driver, why('migrate')).toBe('overlay2');
    expect(after.status.get('Backing Filesystem')).toBe('xfs');
    const report = jsonFile<{ differences: number; expect: { driver: string } }>(`pb-reports/${HOST}/report.json`);
    expect(report).toMatchObject({ differences: 0, expect: { driver: 'overlay2' } });
    // "migrated": in the guest, web runs with its static IP, port, volume files and
    // writable-layer edits, job is stopped with its file, and every image tag is there.
    expect(failedChecks(result), why('migrate')).toEqual([]);
    expect(stages(result), why('migrate')).toContain('migrated');
  });

  it('a second migrate.yml reports the host ok with changed=0', () => {
    const again = playbookRun('migrate-again');
    expect(again?.rc, why('migrate-again')).toBe(0);
    expect(playRecap(again!.stdout)[HOST], why('migrate-again')).toMatchObject({ changed: 0, failed: 0 });
    expect(again!.flat).toMatch(/msg: '?already-migrated: run \S+ is completed/);
  });
});
