import { describe, expect, it } from 'vitest';
import type { ReportEntry } from '../../../src/report/entry.js';
import {
  formatBytes,
  formatDuration,
  formatEntriesText,
  formatJson,
  formatRows,
  formatSummaryLine,
  summarizeEntries,
} from '../../../src/report/format.js';

const entries: ReportEntry[] = [
  { key: 'downtime-estimate', severity: 'info', title: 'Estimated downtime: about 2 min', summary: 'numbers' },
  { key: 'live-restore-enabled', severity: 'warning', title: 'live-restore is on', summary: 'w', remediation: 'nothing' },
  { key: 'data-root-no-dtype', severity: 'blocker', title: 'ftype=0', summary: 'b '.repeat(80).trim(), remediation: 'reformat' },
];

describe('report text', () => {
  it('puts blockers first, with key, summary and remediation', () => {
    const text = formatEntriesText(entries, { width: 60 });
    const headings = text.split('\n').filter((l) => /^[A-Z]/.test(l));
    expect(headings).toEqual([
      'BLOCKER ftype=0 [data-root-no-dtype]',
      'WARNING live-restore is on [live-restore-enabled]',
      'INFO    Estimated downtime: about 2 min [downtime-estimate]',
    ]);
    expect(text).toContain('    Fix: reformat');
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(text).not.toContain('\x1b[');
    expect(formatEntriesText(entries, { color: true })).toContain('\x1b[1;31mBLOCKER');
  });

  it('counts and summarises', () => {
    const summary = summarizeEntries(entries);
    expect(summary).toEqual({ blockers: 1, warnings: 1, info: 1 });
    expect(formatSummaryLine(summary)).toBe('1 blocker, 1 warning, 1 note.');
    expect(formatSummaryLine({ blockers: 0, warnings: 2, info: 5 })).toBe('0 blockers, 2 warnings, 5 notes.');
  });

  it('formats sizes, durations, rows and JSON', () => {
    expect([formatBytes(512), formatBytes(1_200_000), formatBytes(107_400_000_000), formatBytes(NaN)]).toEqual(['512 B', '1.2 MB', '107 GB', 'unknown']);
    expect([formatDuration(45), formatDuration(200), formatDuration(7500)]).toEqual(['45 s', '3 min 20 s', '2 h 5 min']);
    expect(formatRows([['Driver', 'devicemapper'], ['Data root', '/var/lib/docker']])).toBe('Driver     devicemapper\nData root  /var/lib/docker\n');
    expect(formatJson({ a: 1 })).toBe('{\n  "a": 1\n}\n');
  });
});
