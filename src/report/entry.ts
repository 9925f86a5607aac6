/** Leapp-style report entries: a stable key, a severity, and what to do about it. */
export type Severity = 'blocker' | 'warning' | 'info';

export interface ReportEntry {
  /** Stable identifier, usable in `ignoreBlockers` and by automation (e.g. `daemon-json-invalid`). */
  key: string;
  severity: Severity;
  title: string;
  summary: string;
  remediation?: string;
  /** Machine-readable details (paths, sizes, names) for automation. */
  details?: Record<string, unknown>;
}

const SEVERITY_ORDER: Record<Severity, number> = { blocker: 0, warning: 1, info: 2 };

/** Blockers first, then warnings, then information; stable within a severity. */
export function sortEntries(entries: readonly ReportEntry[]): ReportEntry[] {
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => SEVERITY_ORDER[a.entry.severity] - SEVERITY_ORDER[b.entry.severity] || a.index - b.index)
    .map(({ entry }) => entry);
}
