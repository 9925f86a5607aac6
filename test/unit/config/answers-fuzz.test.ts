import { describe, expect, it } from 'vitest';
import {
  AnswersFileError,
  missingAnswers,
  parseAnswersFile,
  resolveAnswers,
} from '../../../src/config/answers.js';
import { answersTemplate } from '../../../src/config/answers-template.js';
import { FILE_QUESTIONS } from '../../../src/config/questions.js';
import { UsageError } from '../../../src/errors.js';
import { expectClearMessage, fixture, schemaValidator } from './answers-helpers.js';

// Issue 10: a few hundred mutated answers files, each ending in either a parse or a clear
// exit-2 UsageError, quickly; never another exception, never a hang. Seeded: a failure is
// reproduced by its case number.
// ANSWERS_FUZZ_SEED and ANSWERS_FUZZ_CASES explore further by hand; the defaults are what CI runs.
const SEED = Number(process.env.ANSWERS_FUZZ_SEED ?? 0x5eed_ab1e);
const SINGLE_CASES = Number(process.env.ANSWERS_FUZZ_CASES ?? 320);
const STACKED_CASES = Math.round(SINGLE_CASES / 3);
const CASE_BUDGET_MS = 3_000; // per file, on a busy 2-core machine; most take a few ms
const TOTAL_BUDGET_MS = 60_000 * Math.max(1, SINGLE_CASES / 320);
const CANARY = 'canary-hunter2-9f3a';

/** mulberry32: small, fast and deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;

const KEY_NAMES = new Set(FILE_QUESTIONS.flatMap((q) => q.key.split('.')));
const BASES: [string, string][] = [
  ['contract.yaml', fixture('contract-example.yaml')],
  ['direct-lvm.yaml', fixture('direct-lvm.yaml')],
  ['push.json', fixture('push.json')],
  ['template.yaml', answersTemplate().replace('\ntarget:\n', '\ntarget: overlay2\n')],
];

const WRONG_VALUES = [
  'yes', 'no', 'on', '"true"', '1.5', '-1', '0', '101', '1e309', '.nan', '-.inf', '[]', '{}', '[[1]]', '{a: {b: c}}',
  '"x y z"', '!!binary aGVsbG8=', '!!set {a, b}', '!!timestamp 2001-12-14', '*nowhere', '"\\u0000"', '~', "''", '""',
  '0x10', '0o17', '99999999999999999999999', '-0', 'https://registry.example.com', '/dev/sdb', 'overlay', 'Direct-LVM',
  '"*"', '["*", 5]', '[null]', '? complex', '|\n    block\n    scalar', '>-\n    folded', `"${'x'.repeat(5_000)}"`,
  `[${Array(3_000).fill('"a"').join(',')}]`, '2001-12-14', 'true true', '"\\ud800"', "'it''s'", '@reserved', '`backtick',
];

function lines(text: string): string[] {
  return text.split('\n');
}

/** Lines that hold `key: value` (YAML) or `"key": value` (JSON), with their parts. */
interface KeyLine {
  index: number;
  indent: string;
  key: string;
  value: string;
  json: boolean;
}

function keyLines(text: string): KeyLine[] {
  return lines(text).flatMap((line, index): KeyLine[] => {
    const yaml = /^(\s*)([A-Za-z][A-Za-z0-9]*):(?:\s+(.*))?$/.exec(line);
    if (yaml) return [{ index, indent: yaml[1]!, key: yaml[2]!, value: yaml[3] ?? '', json: false }];
    const json = /^(\s*)"([A-Za-z]+)":\s*(.*?)(,?)$/.exec(line);
    return json ? [{ index, indent: json[1]!, key: json[2]!, value: json[3]!, json: true }] : [];
  });
}

function typo(word: string): string {
  const i = int(word.length);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  switch (int(4)) {
    case 0:
      return word.slice(0, i) + word.slice(i + 1) || 'x';
    case 1:
      return word.slice(0, i) + pick([...letters]) + word.slice(i);
    case 2:
      return i + 1 < word.length ? word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2) : `${word}s`;
    default:
      return word.slice(0, i) + pick([...letters]) + word.slice(i + 1);
  }
}

function billionLaughs(): string {
  const out = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) out.push(`lol${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(',')}]`);
  return out.join('\n');
}

interface Mutation {
  label: string;
  text: string;
  /** The result is certainly invalid: it must be refused. */
  mustFail: boolean;
}

type Mutator = (text: string, json: boolean) => Mutation;

const MUTATORS: Record<string, Mutator> = {
  wrongValue: (text) => {
    const all = keyLines(text).filter((l) => l.value !== '');
    if (all.length === 0) return { label: 'wrongValue (none)', text, mustFail: false };
    const line = pick(all);
    const value = pick(WRONG_VALUES);
    const out = lines(text);
    const comma = line.json && out[line.index]!.trimEnd().endsWith(',') ? ',' : '';
    out[line.index] = line.json ? `${line.indent}"${line.key}": ${value}${comma}` : `${line.indent}${line.key}: ${value}`;
    return { label: `wrongValue ${line.key}=${value.slice(0, 20)}`, text: out.join('\n'), mustFail: false };
  },
  unknownKey: (text, json) => {
    const line = pick(keyLines(text));
    if (!line) return { label: 'unknownKey (none)', text, mustFail: false };
    let name = random() < 0.5 ? typo(pick([...KEY_NAMES])) : Array.from({ length: 1 + int(12) }, () => pick([...'abcdefghijklmnopqrstuvwxyzXYZ_'])).join('');
    if (KEY_NAMES.has(name) || !/^[A-Za-z]/.test(name)) name = `zz${name}`;
    const out = lines(text);
    out.splice(line.index, 0, json ? `${line.indent}"${name}": 1,` : `${line.indent}${name}: 1`);
    return { label: `unknownKey ${name}`, text: out.join('\n'), mustFail: true };
  },
  typoKey: (text, json) => {
    const line = pick(keyLines(text));
    if (!line) return { label: 'typoKey (none)', text, mustFail: false };
    let name = typo(line.key);
    if (KEY_NAMES.has(name)) name = `${name}X`;
    const out = lines(text);
    out[line.index] = json ? out[line.index]!.replace(`"${line.key}"`, `"${name}"`) : out[line.index]!.replace(`${line.key}:`, `${name}:`);
    return { label: `typoKey ${line.key}->${name}`, text: out.join('\n'), mustFail: true };
  },
  bomb: (text, json) => {
    if (json) return { label: 'bomb (json)', text: `${billionLaughs()}\n${text.replace(/^\{/, '').replace(/\}\s*$/, '').replace(/^\s*"/gm, '"')}`, mustFail: true };
    const use = random() < 0.5 ? '\ncontainers:\n  exclude: *l9\n' : '\n';
    return { label: 'bomb', text: `${billionLaughs()}\n${text}${use}`, mustFail: true };
  },
  danglingAlias: (text, json) => {
    const line = pick(keyLines(text).filter((l) => l.value !== ''));
    if (!line) return { label: 'danglingAlias (none)', text, mustFail: false };
    const out = lines(text);
    const comma = json && out[line.index]!.trimEnd().endsWith(',') ? ',' : '';
    out[line.index] = json ? `${line.indent}"${line.key}": *nowhere${comma}` : `${line.indent}${line.key}: *nowhere`;
    return { label: `danglingAlias ${line.key}`, text: out.join('\n'), mustFail: true };
  },
  manyAliases: (text, json) =>
    json
      ? { label: 'manyAliases (json)', text: text.replace('{', `{"ignoreBlockers": [&a "x", ${Array(120).fill('*a').join(',')}],`), mustFail: true }
      : { label: 'manyAliases', text: `${text}\nignoreBlockers: [&a x, ${Array(120).fill('*a').join(', ')}]\n`, mustFail: true },
  hugeValue: (text) => {
    const line = pick(keyLines(text).filter((l) => l.value !== ''));
    if (!line) return { label: 'hugeValue (none)', text, mustFail: false };
    const size = pick([300, 5_000, 30_000, 80_000]);
    const out = lines(text);
    out[line.index] = out[line.index]!.replace(line.value, `"/${'x'.repeat(size)}"`);
    return { label: `hugeValue ${line.key} ${size}`, text: out.join('\n'), mustFail: size >= 70_000 };
  },
  hugeFile: (text) => ({ label: 'hugeFile', text: `${text}\n${'# padding\n'.repeat(7_000)}`, mustFail: true }),
  binaryJunk: (text) => {
    const at = int(text.length + 1);
    const junk = Array.from({ length: 1 + int(64) }, () => String.fromCharCode(int(256))).join('');
    return { label: 'binaryJunk', text: `${text.slice(0, at)}\u0000${junk}${text.slice(at)}`, mustFail: true };
  },
  randomCodeUnits: (text) => {
    const at = int(text.length + 1);
    const junk = Array.from({ length: 1 + int(16) }, () => String.fromCharCode(int(0x10000))).join('');
    return { label: 'randomCodeUnits', text: `${text.slice(0, at)}${junk}${text.slice(at)}`, mustFail: false };
  },
  truncate: (text) => {
    const at = int(text.length);
    return { label: `truncate ${at}`, text: text.slice(0, at), mustFail: false };
  },
  deepNesting: (text, json) => {
    // At a value, not anywhere: inside a comment or a quoted string it would be harmless.
    const line = pick(keyLines(text).filter((l) => l.value !== ''));
    if (!line) return { label: 'deepNesting (none)', text, mustFail: false };
    const depth = pick([40, 800, 5_000, 30_000]);
    const open = json ? pick(['[', '{"a": ']) : pick(['[', '{a: ', '- ', '? ']);
    const out = lines(text);
    out[line.index] = out[line.index]!.replace(`:${line.value ? ' ' : ''}`, `: ${open.repeat(depth)}`);
    return { label: `deepNesting ${open.trim()}x${depth}`, text: out.join('\n'), mustFail: true };
  },
  duplicateKey: (text) => {
    const line = pick(keyLines(text));
    if (!line) return { label: 'duplicateKey (none)', text, mustFail: false };
    const out = lines(text);
    out.splice(line.index, 0, out[line.index]!);
    return { label: `duplicateKey ${line.key}`, text: out.join('\n'), mustFail: true };
  },
  secondDocument: (text) => {
    const out = lines(text);
    out.splice(1 + int(out.length), 0, pick(['---', '...', '--- !!map']));
    return { label: 'secondDocument', text: out.join('\n'), mustFail: false };
  },
  tabs: (text) => ({ label: 'tabs', text: text.replace(/^ {2}/gm, '\t'), mustFail: false }),
  flipChars: (text) => {
    const chars = [...text];
    for (let n = 1 + int(8); n > 0; n--) chars[int(chars.length)] = pick([...':-[]{}#&*!|>\'"%@`,? \n\tx0']);
    return { label: 'flipChars', text: chars.join(''), mustFail: false };
  },
  notAMapping: () => {
    const text = pick(['- target: overlay2', 'overlay2', '42', 'true', `"${CANARY}"`, '[1, 2, 3]', '!!binary aGVsbG8=', '&a [*a]']);
    return { label: `notAMapping ${text}`, text, mustFail: true };
  },
  inlineSecret: (text, json) => {
    const secret = `${pick(['password', 'Password', 'passwd', 'token', 'secret'])}`;
    const add = json ? `{"registry": {"${secret}": "${CANARY}"}, ` : `registry:\n  ${secret}: ${CANARY}\n`;
    const out = json ? text.replace(/\{[\s\S]*?"registry":\s*\{/, (m) => `${m}"${secret}": "${CANARY}", `) : text.replace(/^registry:\n/m, add);
    const changed = out !== text ? out : json ? text.replace('{', add.slice(0, -2) + ',') : `${text}\n${add}`;
    return { label: `inlineSecret ${secret}`, text: changed, mustFail: true };
  },
  unknownTag: (text) => {
    const line = pick(keyLines(text).filter((l) => l.value !== '' && !l.json));
    if (!line) return { label: 'unknownTag (none)', text, mustFail: false };
    const out = lines(text);
    out[line.index] = `${line.indent}${line.key}: !custom ${line.value}`;
    return { label: `unknownTag ${line.key}`, text: out.join('\n'), mustFail: true };
  },
};

interface Outcome {
  accepted: boolean;
  ms: number;
}

/** Parses a mutated file and checks the outcome; throws (failing the test) on anything else. */
function attempt(caseId: string, fileName: string, mutation: Mutation, valid: (text: string) => boolean | undefined): Outcome {
  const started = performance.now();
  let accepted = false;
  try {
    const answers = parseAnswersFile(mutation.text, fileName);
    accepted = true;
    // A file that parses either resolves or stops on a missing answer: both exit 2 at worst.
    try {
      resolveAnswers(answers);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
    if (missingAnswers(answers).length === 0 && !mutation.text.includes('\u0000')) {
      // The schema shipped for editors accepts every complete file the parser accepts.
      const schemaSays = valid(mutation.text);
      if (schemaSays === false) throw new Error(`${caseId}: the parser accepts, the JSON Schema refuses`);
    }
  } catch (error) {
    if (!(error instanceof AnswersFileError)) {
      throw new Error(`${caseId} (${mutation.label}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    expect(error.exitCode, caseId).toBe(2);
    try {
      expectClearMessage(error.message, fileName);
    } catch (cause) {
      throw new Error(`${caseId} (${mutation.label}): unclear message:\n${error.message}\n${String(cause)}`);
    }
    if (!mutation.label.startsWith(' + ')) expect(error.message, `${caseId} (${mutation.label})`).not.toContain(CANARY);
  }
  const ms = performance.now() - started;
  if (mutation.mustFail && accepted) throw new Error(`${caseId} (${mutation.label}) was accepted:\n${mutation.text.slice(0, 500)}`);
  expect(ms, `${caseId} (${mutation.label}) took ${Math.round(ms)} ms`).toBeLessThan(CASE_BUDGET_MS);
  return { accepted, ms };
}

describe('answers file fuzz (seeded)', () => {
  it(
    `${SINGLE_CASES + STACKED_CASES} mutated files: a parse or a clear exit-2 UsageError, each within ${CASE_BUDGET_MS} ms`,
    () => {
      const valid = schemaValidator();
      const names = Object.keys(MUTATORS);
      const started = performance.now();
      const seen = new Map<string, number>();
      let accepted = 0;
      let slowest = 0;
      for (let n = 0; n < SINGLE_CASES + STACKED_CASES; n++) {
        const [fileName, base] = pick(BASES);
        const json = fileName.endsWith('.json');
        let mutation: Mutation;
        if (n < SINGLE_CASES) {
          const name = names[n % names.length]!;
          mutation = MUTATORS[name]!(base, json);
          seen.set(name, (seen.get(name) ?? 0) + 1);
        } else {
          // Several mutations on top of each other: no promise about the outcome but its shape.
          mutation = { label: '', text: base, mustFail: false };
          for (let k = 1 + int(3); k > 0; k--) {
            const next = MUTATORS[pick(names)]!(mutation.text, json);
            mutation = { label: `${mutation.label} + ${next.label}`, text: next.text, mustFail: false };
          }
        }
        const outcome = attempt(`case ${n}`, fileName, mutation, valid);
        if (outcome.accepted) accepted += 1;
        slowest = Math.max(slowest, outcome.ms);
      }
      const total = performance.now() - started;
      expect(total).toBeLessThan(TOTAL_BUDGET_MS);
      // Every mutator ran, and the corpus is mostly refusals (a fuzz that accepts all proves little).
      expect(seen.size).toBe(names.length);
      expect(accepted).toBeLessThan((SINGLE_CASES + STACKED_CASES) / 2);
      console.log(`fuzz: ${SINGLE_CASES + STACKED_CASES} files, ${accepted} accepted, slowest ${Math.round(slowest)} ms, total ${Math.round(total)} ms`);
    },
    TOTAL_BUDGET_MS * 2,
  );
});
