import { describe, expect, it } from 'vitest';
import { blockersNote } from '../../../src/cli/commands/preflight.js';
import { unwaivedBlockers } from '../../../src/preflight/waivers.js';
import type { ReportEntry } from '../../../src/report/entry.js';

const entry = (key: string, severity: ReportEntry['severity'] = 'blocker'): ReportEntry => ({ key, severity, title: key, summary: '' });

// What preflight says about a run is what the run does with the same entries (unwaivedBlockers).
describe("preflight's note on blockers", () => {
  it('says the run refuses to start, and that ignoreBlockers overrides a blocker that may be overridden', () => {
    const entries = [entry('containers-paused'), entry('live-restore-enabled', 'warning')];
    expect(blockersNote(entries)).toBe(' The run will not start while they remain. Fix them, or name them in ignoreBlockers if you are sure, then run again.');
    expect(unwaivedBlockers(entries, [])).toHaveLength(1);
    expect(unwaivedBlockers(entries, ['containers-paused'])).toEqual([]);
  });

  it('names the blockers no ignoreBlockers overrides', () => {
    const entries = [entry('containers-paused'), entry('containers-auto-remove')];
    expect(blockersNote(entries)).toBe(' The run will not start while they remain. Fix them, then run again (containers-auto-remove cannot be overridden).');
    expect(unwaivedBlockers(entries, ['containers-paused', 'containers-auto-remove']).map((e) => e.key)).toEqual(['containers-auto-remove']);
  });

  it('says nothing without blockers', () => {
    expect(blockersNote([entry('live-restore-enabled', 'warning')])).toBe('');
  });
});
