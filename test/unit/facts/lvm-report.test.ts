// lvm2 before 2.02.158 (CentOS 7.0–7.2) has no `--reportformat json`: the facts must come from
// its column form, and give the same LVM state and the same device blockers as JSON does.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LvmReporter } from '../../../src/facts/lvm-report.js';
import {
  lvmColumnRows,
  lvsFromRows,
  LVS_FIELDS,
  parseLvs,
  parsePvs,
  parseVgs,
  pvsFromRows,
  PVS_FIELDS,
  vgsFromRows,
  VGS_FIELDS,
} from '../../../src/facts/parse.js';
import type { CannedCommand, FixtureSpec } from '../../../src/host/fixture-host.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { find, findings, fixtureFacts } from '../preflight/helpers.js';

const OLD = path.resolve('test/fixtures/lvm/centos72-lvm2-2.02.130');
const old = (name: string) => readFile(path.join(OLD, name), 'utf8');

/** The JSON reports of the rhel7-storage-setup fixture host (lvm2 2.02.180), by tool. */
async function jsonReports(): Promise<Record<string, string>> {
  const spec = JSON.parse(await readFile(path.resolve('test/fixtures/hosts/rhel7-storage-setup/host.json'), 'utf8')) as FixtureSpec;
  const byTool: Record<string, string> = {};
  for (const c of spec.commands ?? []) if (['lvs', 'vgs', 'pvs'].includes(c.command)) byTool[c.command] = c.stdout ?? '';
  return byTool;
}

const COLUMN_ARGS = (fields: readonly string[], extra: string[] = []) => ['--noheadings', '--separator', '|', '--units', 'b', '--nosuffix', ...extra, '-o', fields.join(',')];
const JSON_ARGS = (fields: readonly string[], extra: string[] = []) => ['--reportformat', 'json', '--units', 'b', '--nosuffix', ...extra, '-o', fields.join(',')];

/** The same host with lvm2 2.02.130: JSON refused as getopt refuses it, the column form answered. */
async function oldLvm2(): Promise<FixtureSpec> {
  const stderr = await old('lvs-reportformat.stderr');
  const tools: [string, readonly string[], string[]][] = [
    ['lvs', LVS_FIELDS, ['-a']],
    ['vgs', VGS_FIELDS, []],
    ['pvs', PVS_FIELDS, []],
  ];
  const commands: CannedCommand[] = [];
  for (const [tool, fields, extra] of tools) {
    commands.push({ command: tool, args: JSON_ARGS(fields, extra), exitCode: 3, stderr: stderr.replace(/^lvs/, tool) });
    commands.push({ command: tool, args: COLUMN_ARGS(fields, extra), stdout: await old(`${tool}.txt`) });
  }
  return { commands };
}

describe("lvm2's column report (no --reportformat json before 2.02.158)", () => {
  it('parses to the same LVs, VGs and PVs as the JSON report of the same state', async () => {
    const json = await jsonReports();
    expect(lvsFromRows(lvmColumnRows(await old('lvs.txt'), LVS_FIELDS))).toEqual(parseLvs(json.lvs!));
    expect(vgsFromRows(lvmColumnRows(await old('vgs.txt'), VGS_FIELDS))).toEqual(parseVgs(json.vgs!));
    expect(pvsFromRows(lvmColumnRows(await old('pvs.txt'), PVS_FIELDS))).toEqual(parsePvs(json.pvs!));
    expect(parseLvs(json.lvs!).find((lv) => lv.lvName === 'docker-pool')).toMatchObject({ dataPercent: 5.88, metadataPercent: 0.14, sizeBytes: 20396900352 });
  });

  it('refuses a line that is not the report asked for, as a JSON parse would', () => {
    expect(() => lvmColumnRows('  WARNING: something\n', PVS_FIELDS)).toThrow(/expected 3 fields/);
  });

  it('reads the columns after the first refusal, and asks JSON no more', async () => {
    const host = new FixtureHost(OLD, await oldLvm2());
    const reporter = new LvmReporter(host, {});
    const pvs = await reporter.report('pvs', 'pv', PVS_FIELDS);
    expect(pvs).toMatchObject({ ok: true, format: 'columns' });
    await reporter.report('vgs', 'vg', VGS_FIELDS);
    expect(host.calls.map((c) => `${c.command} ${c.args[0]}`)).toEqual(['pvs --reportformat', 'pvs --noheadings', 'vgs --noheadings']);
  });

  it('does not take another failure for the old lvm2: it stays a failure', async () => {
    const host = new FixtureHost(OLD, { commands: [{ command: 'pvs', exitCode: 5, stderr: '  /dev/mapper/control: open failed: Permission denied\n' }] });
    expect(await new LvmReporter(host, {}).report('pvs', 'pv', PVS_FIELDS)).toEqual({
      ok: false,
      message: 'pvs failed (exit 5): /dev/mapper/control: open failed: Permission denied',
    });
    expect(host.calls).toHaveLength(1);
  });
});

describe('preflight on a CentOS 7.2 host (lvm2 2.02.130)', () => {
  it('gathers the same pool, VG and PV facts as with JSON, without a problem', async () => {
    const fromJson = await fixtureFacts('rhel7-storage-setup');
    const fromColumns = await fixtureFacts('rhel7-storage-setup', {}, await oldLvm2());
    expect(fromColumns.host.problems).toEqual([]);
    expect(fromColumns.host.lvm.reportFormat).toBe('columns');
    expect(fromJson.host.lvm.reportFormat).toBe('json');
    const { reportFormat: _c, ...columns } = fromColumns.host.lvm;
    const { reportFormat: _j, ...json } = fromJson.host.lvm;
    expect(columns).toEqual(json);
    expect(columns.pvs).toContainEqual({ pvName: '/dev/sdb', vgName: 'docker-vg', sizeBytes: 21470642176 });
  });

  it("gives the device blockers: the current pool's own disk is refused", async () => {
    const options = { target: 'direct-lvm' as const, device: '/dev/sdb', wipeSignatures: true };
    const json = preflightChecks(await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdb' }), options);
    const columns = preflightChecks(await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdb' }, await oldLvm2()), options);
    expect(find(columns, 'target-device-in-current-pool')?.summary).toContain('docker-vg');
    expect(findings(columns)).toEqual(findings(json));
  });

  it('gives the same verdict on a free disk', async () => {
    const options = { target: 'direct-lvm' as const, device: '/dev/sdc' };
    const json = preflightChecks(await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdc' }), options);
    const columns = preflightChecks(await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdc' }, await oldLvm2()), options);
    expect(findings(columns)).toEqual(findings(json));
  });
});
