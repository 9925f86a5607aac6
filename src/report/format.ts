/** Rendering of report entries: text for people (blockers first), pretty JSON for automation. */
import { sortEntries, type ReportEntry, type Severity } from './entry.js';
import { escapeControls, escapeForTerminal } from './escape.js';

export interface EntrySummary {
  blockers: number;
  warnings: number;
  info: number;
}

/** How many entries of each severity. */
export function summarizeEntries(entries: readonly ReportEntry[]): EntrySummary {
  return {
    blockers: entries.filter((e) => e.severity === 'blocker').length,
    warnings: entries.filter((e) => e.severity === 'warning').length,
    info: entries.filter((e) => e.severity === 'info').length,
  };
}

/** Bytes in Docker's decimal units: "512 B", "1.2 MB", "107.4 GB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unknown';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0 ? `${sign}${value} B` : `${sign}${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Seconds as "45 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.round((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

const LABEL: Record<Severity, string> = { blocker: 'BLOCKER', warning: 'WARNING', info: 'INFO' };
const COLOUR: Record<Severity, string> = { blocker: '\x1b[1;31m', warning: '\x1b[33m', info: '\x1b[36m' };
const RESET = '\x1b[0m';

export interface TextOptions {
  color?: boolean;
  /** Wrap width for summaries and remediations. */
  width?: number;
}

/** Entries as text, blockers first: a heading line each, then the summary and what to do. */
export function formatEntriesText(entries: readonly ReportEntry[], options: TextOptions = {}): string {
  const width = options.width ?? 100;
  const lines: string[] = [];
  for (const entry of sortEntries(entries)) {
    const label = LABEL[entry.severity].padEnd(7);
    // Titles and summaries quote names from containers (files, labels): escaped before any colour is added.
    const heading = `${options.color ? `${COLOUR[entry.severity]}${label}${RESET}` : label} ${escapeControls(entry.title)} [${escapeControls(entry.key)}]`;
    lines.push(heading);
    lines.push(...wrap(escapeControls(entry.summary), width - 4).map((l) => `    ${l}`));
    if (entry.remediation) {
      const fix = wrap(`Fix: ${escapeControls(entry.remediation)}`, width - 4);
      lines.push(...fix.map((l, i) => (i === 0 ? `    ${l}` : `         ${l}`)));
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The closing line: "2 blockers, 3 warnings, 5 notes." */
export function formatSummaryLine(summary: EntrySummary): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(summary.blockers, 'blocker')}, ${plural(summary.warnings, 'warning')}, ${plural(summary.info, 'note')}.`;
}

/** Label/value rows aligned in two columns. */
export function formatRows(rows: readonly [string, string][]): string {
  const widest = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(widest)}  ${value}`).join('\n') + '\n';
}

/** Pretty JSON with a final newline, for automation. */
export function formatJson(value: unknown): string {
  // JSON.stringify escapes C0 controls but not C1 (U+0080–U+009F, which some terminals obey): these become \u00HH, the same JSON value.
  return `${escapeForTerminal(JSON.stringify(value, null, 2))}\n`;
}

/** Wraps text at word boundaries; existing line breaks are kept. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      if (line !== '' && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    out.push(line);
  }
  return out;
}
