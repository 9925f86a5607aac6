/**
 * LVM's reports (lvs, vgs, pvs) in whichever form the host's lvm2 can print. JSON
 * (`--reportformat json`) came in lvm2 2.02.158; RHEL/CentOS 7.0–7.2 ship 2.02.105–2.02.130,
 * which refuse the option ("unrecognized option '--reportformat'", exit 3). There the same
 * fields are read from the column form every lvm2 has: `--noheadings --separator '|'`.
 */
import type { Host, RunOptions } from '../host/host.js';
import { LVM_SEPARATOR, lvmColumnRows, lvmJsonRows, type LvmRow } from './parse.js';

export type LvmReportFormat = 'json' | 'columns';

export type LvmReportResult = { ok: true; rows: LvmRow[]; format: LvmReportFormat } | { ok: false; message: string };

/** Whether lvm2 refused the JSON option itself (older than 2.02.158), not the report. */
export function refusesReportFormat(stderr: string): boolean {
  return /reportformat/i.test(stderr);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * Reads LVM reports, in JSON while lvm2 takes it; after the first refusal, in columns for
 * every later report too (one lvm2 serves all three tools).
 */
export class LvmReporter {
  private format: LvmReportFormat = 'json';

  constructor(
    private readonly host: Host,
    private readonly runOptions: RunOptions,
  ) {}

  /** The form the last report was read in. */
  get reportFormat(): LvmReportFormat {
    return this.format;
  }

  /** `tool` (lvs, vgs, pvs) with `--units b --nosuffix`, `extra` and `-o fields`: rows of `kind` ("lv", "vg", "pv"). */
  async report(tool: string, kind: string, fields: readonly string[], extra: readonly string[] = []): Promise<LvmReportResult> {
    if (this.format === 'json') {
      const result = await this.host.run(tool, ['--reportformat', 'json', '--units', 'b', '--nosuffix', ...extra, '-o', fields.join(',')], this.runOptions);
      if (result.exitCode === 0) return this.parsed(tool, 'json', () => lvmJsonRows(result.stdout, kind));
      if (!refusesReportFormat(result.stderr)) return { ok: false, message: `${tool} failed (exit ${result.exitCode}): ${firstLine(result.stderr)}` };
      this.format = 'columns';
    }
    const args = ['--noheadings', '--separator', LVM_SEPARATOR, '--units', 'b', '--nosuffix', ...extra, '-o', fields.join(',')];
    const result = await this.host.run(tool, args, this.runOptions);
    if (result.exitCode !== 0) return { ok: false, message: `${tool} failed (exit ${result.exitCode}): ${firstLine(result.stderr)}` };
    return this.parsed(tool, 'columns', () => lvmColumnRows(result.stdout, fields));
  }

  private parsed(tool: string, format: LvmReportFormat, parse: () => LvmRow[]): LvmReportResult {
    try {
      return { ok: true, rows: parse(), format };
    } catch (error) {
      const form = format === 'json' ? 'LVM JSON' : "LVM's column report";
      return { ok: false, message: `${tool} printed output that is not ${form}: ${(error as Error).message}` };
    }
  }
}
