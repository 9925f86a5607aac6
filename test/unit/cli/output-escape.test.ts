// Names from containers with terminal control codes (issue 19, item 12): every human-readable
// output (the terminal, run.log, the report text, the task list) shows them as visible escapes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunLog } from '../../../src/run/run-log.js';
import { runStepWithEvents, type StepEvent } from '../../../src/cli/task-list/events.js';
import { escapeControls } from '../../../src/report/escape.js';
import { formatEntriesText, formatJson } from '../../../src/report/format.js';
import { runCli } from '../run-cli.js';

// A file name a container could make: retitles the terminal (OSC), then a CR rewrites the line; C1 CSI too.
const EVIL = 'data/\x1b]0;pwned\x07\rall good\x9b2J.txt';
const SHOWN = 'data/\\x1b]0;pwned\\x07\\x0dall good\\u009b2J.txt';
// eslint-disable-next-line no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dmm-escape-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('control characters in names', () => {
  it('are shown as visible escapes; tabs, newlines and other text are kept', () => {
    expect(escapeControls(EVIL)).toBe(SHOWN);
    expect(escapeControls('tab\there\nünïcödé 名前')).toBe('tab\there\nünïcödé 名前');
  });

  it('in run.log', async () => {
    const file = path.join(dir, 'run.log');
    const log = await RunLog.open(file);
    log.line(`not archived: ${EVIL}`, new Date('2026-11-22T10:00:00.000Z'));
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe(`2026-11-22T10:00:00.000Z not archived: ${SHOWN}\n`);
  });

  it('in the report text, with the tool\'s own colours kept', () => {
    const text = formatEntriesText([{ key: 'volume-files', severity: 'blocker', title: `volume v: ${EVIL}`, summary: `content differs: ${EVIL}`, remediation: `look at ${EVIL}` }], { color: true });
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(RAW);
    expect(text).toContain(`volume v: ${SHOWN}`);
    expect(text).toContain('\x1b[1;31m');
  });

  it('in JSON: still valid JSON with the same value, and no raw C1 control', () => {
    const json = formatJson({ path: EVIL });
    expect(json).not.toMatch(RAW);
    expect(JSON.parse(json)).toEqual({ path: EVIL });
  });

  it('in the task list\'s events (every mode draws these, run.log keeps them)', async () => {
    const events: StepEvent[] = [];
    const step = { id: 'archive-volumes', title: `Archive ${EVIL}`, phase: 'quiesce' as const, run: async (p: { say(t: string): void }) => (p.say(`not archived: ${EVIL}`), 'done' as const) };
    await runStepWithEvents(step, (e) => events.push(e));
    expect(events.find((e) => e.event === 'start')?.text).toBe(`Archive ${SHOWN}`);
    expect(events.find((e) => e.event === 'say')?.text).toBe(`not archived: ${SHOWN}`);
    const failing = { ...step, run: async () => Promise.reject(new Error(`cannot read ${EVIL}`)) };
    await runStepWithEvents(failing, (e) => events.push(e)).catch(() => undefined);
    expect(events.find((e) => e.event === 'failed')?.message).toBe(`cannot read ${SHOWN}`);
  });

  it('on the terminal: what a command prints', async () => {
    const { code, err } = await runCli(['answers', '--check', path.join(dir, EVIL)]);
    expect(code).toBe(2);
    expect(err).toContain(SHOWN);
    expect(err).not.toMatch(RAW);
  });
});
