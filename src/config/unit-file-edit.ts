/**
 * Minimal edits that take dockerd's storage flags out of the places a command line hides them
 * (pure: callers read and write the files). dockerd refuses to start when a setting is both a
 * flag and a daemon.json key, even with the same value (PITFALLS 4), so once daemon.json names
 * the driver, no flag may: `-s X`, `--storage-driver[= ]X`, `--storage-opt[= ]X`, and the
 * `$DOCKER_STORAGE_OPTIONS` expansion RHEL's unit puts in ExecStart.
 *
 * Every edit removes words and the blank they leave and nothing else: other flags, quoting,
 * comments, indentation and continuation lines stay as they were. A continuation line left
 * empty is dropped (with the backslash before it when it was the last one).
 */

import { splitWords, type Word, type WordRules } from '../text/words.js';

/** The outcome of an edit: the new text and the flags it removed, or "unchanged". */
export type FlagEdit = { status: 'changed'; text: string; removed: string[] } | { status: 'unchanged' };

/** Variables of /etc/sysconfig/docker* and /etc/default/docker that carry dockerd flags. */
export const FLAG_VARIABLES = ['OPTIONS', 'DOCKER_STORAGE_OPTIONS', 'DOCKER_OPTS', 'other_args', 'OTHER_ARGS'] as const;

interface Removal {
  start: number;
  end: number;
  replacement: string;
  /** For the account: the flag as it read. */
  label?: string;
}

const SHORT_BOOLEANS = new Set(['D', 'd', 'v', 'h']);
const LONG_FLAGS = ['--storage-driver', '--storage-opt'];
const STORAGE_VARIABLE = /^\$(?:DOCKER_STORAGE_OPTIONS|\{DOCKER_STORAGE_OPTIONS\})$/;

/** Removes storage flags from every ExecStart= of a systemd unit or drop-in. */
export function removeStorageFlagsFromUnit(text: string): FlagEdit {
  const lines = text.split('\n');
  const removed: string[] = [];
  const out: string[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('[') && trimmed.endsWith(']')) section = trimmed.slice(1, -1);
    const match = /^(\s*ExecStart\s*=)/.exec(line);
    if (section !== 'Service' || !match) {
      out.push(line);
      continue;
    }
    // The statement runs on while a line ends with a backslash.
    let last = i;
    while (endsWithContinuation(lines[last]!) && last + 1 < lines.length) last++;
    const statement = lines.slice(i, last + 1).join('\n');
    const valueStart = match[1]!.length;
    const edited = editWords(statement, 'systemd', valueStart, statement.length);
    if (edited.removed.length === 0) {
      out.push(...lines.slice(i, last + 1));
    } else {
      removed.push(...edited.removed);
      out.push(...dropEmptyContinuations(statement, edited.text));
    }
    i = last;
  }
  return removed.length === 0 ? { status: 'unchanged' } : { status: 'changed', text: out.join('\n'), removed };
}

/**
 * Removes storage flags from the flag-carrying variables of an environment file
 * (/etc/sysconfig/docker's OPTIONS, /etc/sysconfig/docker-storage's DOCKER_STORAGE_OPTIONS,
 * /etc/default/docker's DOCKER_OPTS). A value left blank becomes empty ("" keeps its quotes).
 */
export function removeStorageFlagsFromEnvironmentFile(text: string, variables: readonly string[] = FLAG_VARIABLES): FlagEdit {
  const removals: Removal[] = [];
  const removed: string[] = [];
  const names = variables.map(escapeRegExp).join('|');
  const assignment = new RegExp(`^[ \\t]*(?:export[ \\t]+)?(?:${names})[ \\t]*=[ \\t]*`, 'gm');
  for (const match of text.matchAll(assignment)) {
    const valueStart = match.index + match[0].length;
    const { innerStart, innerEnd } = valueExtent(text, valueStart);
    const edited = editWords(text.slice(0, innerEnd), 'shell', innerStart, innerEnd);
    if (edited.removed.length === 0) continue;
    removed.push(...edited.removed);
    let inner = edited.text.slice(innerStart, edited.text.length);
    if (inner.trim() === '') inner = '';
    removals.push({ start: innerStart, end: innerEnd, replacement: inner });
  }
  if (removed.length === 0) return { status: 'unchanged' };
  return { status: 'changed', text: applyRemovals(text, removals), removed };
}

/** docker-storage-setup's own settings file (sourced after its defaults, which say devicemapper). */
export const STORAGE_SETUP_FILE = '/etc/sysconfig/docker-storage-setup';

/**
 * Makes docker-storage-setup / container-storage-setup (RHEL 7; docker.service wants it, so it
 * runs before every start of dockerd) leave the storage configuration alone:
 * `STORAGE_DRIVER=""` in /etc/sysconfig/docker-storage-setup. Its source (container-storage-setup.sh,
 * setup_storage_compat; the same since STORAGE_DRIVER came in, 2015) exits at once on an empty
 * STORAGE_DRIVER ("STORAGE_DRIVER not set, no storage will be configured"). Any other value
 * rewrites /etc/sysconfig/docker-storage when it finds no --storage-driver there (the cutover
 * removed it): devicemapper builds a new pool once the old one is gone and writes
 * `--storage-driver devicemapper ...` back, overlay2 writes `--storage-driver overlay2`; both
 * conflict with daemon.json and dockerd refuses to start. `undefined` text (no such file) is
 * unchanged: the caller creates the file when the service is installed (its default is devicemapper).
 */
export function disableStorageSetup(text: string | undefined): FlagEdit {
  if (text === undefined) return { status: 'unchanged' };
  const pattern = /^([ \t]*STORAGE_DRIVER[ \t]*=[ \t]*)(.*)$/gm;
  const matches = [...text.matchAll(pattern)];
  const lastMatch = matches.at(-1);
  if (lastMatch) {
    const value = lastMatch[2]!.trim();
    if (value === '""' || value === "''" || value === '') return { status: 'unchanged' };
    const start = lastMatch.index + lastMatch[1]!.length;
    return {
      status: 'changed',
      text: applyRemovals(text, [{ start, end: start + lastMatch[2]!.length, replacement: '""' }]),
      removed: [`STORAGE_DRIVER=${value}`],
    };
  }
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  return {
    status: 'changed',
    text: `${text}${separator}# devmapper-migrate: the storage driver is set in /etc/docker/daemon.json\nSTORAGE_DRIVER=""\n`,
    removed: ['STORAGE_DRIVER (default devicemapper)'],
  };
}

/**
 * What the run does to docker-storage-setup's settings, for the plan: nothing when the service
 * is not installed or STORAGE_DRIVER is already empty. `text` undefined: the file does not exist.
 */
export function storageSetupEdit(units: readonly string[], text: string | undefined): { removes: string[]; action: string } | undefined {
  if (units.length === 0 && text === undefined) return undefined;
  const edit = disableStorageSetup(text ?? '');
  if (edit.status === 'unchanged') return undefined;
  const was = edit.removed[0]?.startsWith('STORAGE_DRIVER=') ? `was ${edit.removed[0]}` : 'unset, devicemapper by default';
  const action = text === undefined ? 'create it with STORAGE_DRIVER=""' : `set STORAGE_DRIVER="" (${was})`;
  return { removes: edit.removed, action: `${action}, so that docker-storage-setup no longer writes storage flags into /etc/sysconfig/docker-storage` };
}

/**
 * A drop-in that overrides a vendor unit's ExecStart with its storage flags removed (for
 * units under /usr/lib, which a package update would overwrite), or undefined when the
 * unit's ExecStart has none.
 */
export function execStartOverride(unitText: string): { text: string; removed: string[] } | undefined {
  const edit = removeStorageFlagsFromUnit(unitText);
  if (edit.status === 'unchanged') return undefined;
  const statements: string[] = [];
  const lines = edit.text.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed.startsWith('[') && trimmed.endsWith(']')) section = trimmed.slice(1, -1);
    if (section !== 'Service' || !/^\s*ExecStart\s*=/.test(lines[i]!)) continue;
    let last = i;
    while (endsWithContinuation(lines[last]!) && last + 1 < lines.length) last++;
    statements.push(lines.slice(i, last + 1).join('\n'));
    i = last;
  }
  const text = [
    '# Written by devmapper-migrate: the storage driver is set in /etc/docker/daemon.json,',
    '# and dockerd refuses a setting given both as a flag and in that file.',
    '[Service]',
    'ExecStart=',
    ...statements.filter((s) => !/^\s*ExecStart\s*=\s*$/.test(s)),
    '',
  ].join('\n');
  return { text, removed: edit.removed };
}

function endsWithContinuation(line: string): boolean {
  const body = line.replace(/\r$/, '');
  return /(?:^|[^\\])(?:\\\\)*\\$/.test(body);
}

/** Where a variable's value is: inside its quotes when quoted, else to the end of the line. */
function valueExtent(text: string, valueStart: number): { innerStart: number; innerEnd: number } {
  const quote = text[valueStart];
  if (quote === '"' || quote === "'") {
    let i = valueStart + 1;
    while (i < text.length && text[i] !== quote) i += quote === '"' && text[i] === '\\' ? 2 : 1;
    return { innerStart: valueStart + 1, innerEnd: Math.min(i, text.length) };
  }
  let i = valueStart;
  while (i < text.length && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
  let end = Math.min(i, text.length);
  if (text[end - 1] === '\r') end--;
  return { innerStart: valueStart, innerEnd: end };
}

/** Finds the storage flags among words and the text spans that remove them. */
function storageFlagRemovals(words: Word[]): Removal[] {
  const removals: Removal[] = [];
  const drop = (word: Word, label?: string) => removals.push({ start: word.start, end: word.end, replacement: '', label });
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const value = word.value;
    if (STORAGE_VARIABLE.test(value)) {
      drop(word, value);
      continue;
    }
    const long = LONG_FLAGS.find((flag) => value === flag || value.startsWith(`${flag}=`));
    if (long) {
      const next = words[i + 1];
      if (value === long && next) {
        drop(word, `${long} ${next.value}`);
        drop(next);
        i++;
      } else drop(word, value);
      continue;
    }
    if (!/^-[A-Za-z]/.test(value)) continue;
    // A cluster of shorthands: booleans, then maybe -s with its value attached or next.
    let j = 1;
    while (j < value.length && SHORT_BOOLEANS.has(value[j]!)) j++;
    if (value[j] !== 's') continue;
    const booleans = value.slice(1, j);
    let attached = value.slice(j + 1);
    if (attached.startsWith('=')) attached = attached.slice(1);
    const next = words[i + 1];
    const driver = attached !== '' ? attached : next?.value;
    if (driver === undefined) continue;
    if (booleans === '') drop(word, `-s ${driver}`);
    else removals.push({ start: word.start, end: word.end, replacement: `-${booleans}`, label: `-s ${driver}` });
    if (attached === '' && next) {
      drop(next);
      i++;
    }
  }
  return removals;
}

/**
 * Removes the storage flags among the words of text[from, to) and the blank each leaves: the
 * blank before it on the same line, or, for the first word of a line, the blank after it.
 */
function editWords(text: string, rules: WordRules, from: number, to: number): { text: string; removed: string[] } {
  const removals = storageFlagRemovals(splitWords(text, rules, from, to));
  if (removals.length === 0) return { text, removed: [] };
  const removed = removals.flatMap((r) => (r.label ? [r.label] : []));
  const widened = removals.map((r) => {
    if (r.replacement !== '') return r;
    let start = r.start;
    while (start > from && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
    if (start > from && text[start - 1] !== '\n') return { ...r, start };
    let end = r.end;
    while (end < to && (text[end] === ' ' || text[end] === '\t')) end++;
    return { ...r, end };
  });
  return { text: applyRemovals(text, widened), removed };
}

/** Applies non-overlapping replacements (overlaps merge) to a text. */
function applyRemovals(text: string, removals: Removal[]): string {
  const sorted = [...removals].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of sorted) {
    if (r.start < at) {
      at = Math.max(at, r.end);
      continue;
    }
    out += text.slice(at, r.start) + r.replacement;
    at = r.end;
  }
  return out + text.slice(at);
}

/**
 * Drops continuation lines that the edit left blank (only blanks and a backslash); when the
 * statement's last line goes, the backslash that led to it goes too, so the statement does not
 * swallow the next line of the file.
 */
function dropEmptyContinuations(original: string, edited: string): string[] {
  const before = original.split('\n');
  const lines = edited.split('\n');
  const blank = (line: string) => /^[ \t]*\\?\r?$/.test(line);
  const kept = lines.filter((line, index) => index === 0 || !blank(line) || blank(before[index] ?? ''));
  const last = kept.length - 1;
  if (last >= 0 && endsWithContinuation(kept[last]!) && !endsWithContinuation(lines.at(-1)!)) {
    const cr = kept[last]!.endsWith('\r') ? '\r' : '';
    kept[last] = kept[last]!.replace(/\r$/, '').replace(/[ \t]*\\$/, '') + cr;
  }
  return kept;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
