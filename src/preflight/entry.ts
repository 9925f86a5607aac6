import type { ReportEntry, Severity } from '../report/entry.js';
import type { Analysis } from './analysis.js';

/** A named check: its stable keys (documented for ignoreBlockers and automation) and its logic. */
export interface Check {
  name: string;
  keys: readonly string[];
  run(analysis: Analysis): ReportEntry[];
}

/** A report entry, leaving out an empty remediation or details. */
export function entry(
  key: string,
  severity: Severity,
  title: string,
  summary: string,
  remediation?: string,
  details?: Record<string, unknown>,
): ReportEntry {
  const result: ReportEntry = { key, severity, title, summary };
  if (remediation) result.remediation = remediation;
  if (details && Object.keys(details).length > 0) result.details = details;
  return result;
}

/** "a, b and c" */
export function listText(items: readonly string[], max = 8): string {
  const shown = items.slice(0, max);
  const more = items.length - shown.length;
  const all = more > 0 ? [...shown, `${more} more`] : shown;
  if (all.length <= 1) return all.join('');
  return `${all.slice(0, -1).join(', ')} and ${all.at(-1)}`;
}

/** "1 container" / "3 containers" */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}
