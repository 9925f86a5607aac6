/**
 * The answers file: parsing (YAML or JSON) with a line number on every error, and resolution
 * of defaults. Pure: the caller reads the file (see readAnswersFile in cli/commands/answers.ts).
 *
 * Validation is done directly from the declarations in questions.ts, not by ajv: each error
 * is then worded for the key it is about ("must be a whole number from 1 to 100"), carries the
 * line of the node it is about, and hostile input is walked only as deep as the declared keys
 * go. The JSON Schema for editors is generated from the same declarations, and a unit test
 * checks with ajv that the schema and this parser agree.
 */
import {
  Composer,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  visit,
  type CST,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { UsageError } from '../errors.js';
import type { AnswerSecrets, Answers, ResolvedAnswers } from './answers-types.js';
import { NOT_WAIVABLE } from './unwaivable-blockers.js';
import {
  allowedText,
  checkListItem,
  checkValue,
  conditionText,
  effectiveAnswer,
  FILE_QUESTIONS,
  getAnswer,
  isAnswered,
  isApplicable,
  QUESTIONS,
  type Question,
} from './questions.js';

export type {
  Answers,
  AnswerSecrets,
  DataRootKeep,
  GlobSelection,
  ResolvedAnswers,
  ResolvedDirectLvm,
  ResolvedRegistry,
  ServiceManager,
  Target,
} from './answers-types.js';

/**
 * Larger files are refused. Hostile YAML costs parse time in proportion to its size (about
 * 1 s per 50 KiB for the worst inputs measured on a busy 2-core machine), and a real answers
 * file, even with hundreds of globs, is a few KiB.
 */
export const MAX_ANSWERS_FILE_BYTES = 64 * 1024;
/** Collections nested deeper are refused before composing (the answers file needs 3 levels). */
const MAX_NESTING = 32;
/** More alias uses than this are refused (anchors and aliases are allowed, bombs are not). */
const MAX_ALIASES = 100;
/** Problems listed in one error; the rest are counted. */
const MAX_PROBLEMS = 30;
/** Where archives go when neither backup.directory nor a state dir is given (contract default). */
const DEFAULT_STATE_DIR = '/var/lib/devmapper-migrate';

const REMEDY =
  'Fix the answers file: "devmapper-migrate answers --template" prints every key with its default and ' +
  'choices, and "devmapper-migrate answers --check FILE" checks a file.';

/** One thing wrong with an answers file: the key it is about (if any) and its line (if known). */
export interface AnswersProblem {
  message: string;
  key?: string;
  line?: number;
}

/** An invalid answers file (exit 2): every problem found, each with its line where known. */
export class AnswersFileError extends UsageError {
  constructor(
    readonly fileName: string,
    readonly problems: readonly AnswersProblem[],
    readonly more = 0,
  ) {
    super(formatProblems(fileName, problems, more), REMEDY);
    this.name = 'AnswersFileError';
  }
}

/** Answers that a run needs but nobody gave (exit 2); the non-TTY run stops with this. */
export class MissingAnswersError extends UsageError {
  constructor(
    readonly source: string,
    readonly keys: readonly string[],
  ) {
    super(
      keys.length === 1
        ? `a required answer is missing from ${source}: ${missingText(keys[0]!)}`
        : `${keys.length} required answers are missing from ${source}:\n${keys.map((key) => `  ${missingText(key)}`).join('\n')}`,
      'Add them to the answers file ("devmapper-migrate answers --template" shows every key), ' +
        'or run on a terminal to be asked.',
    );
    this.name = 'MissingAnswersError';
  }
}

function problemLine(fileName: string, problem: AnswersProblem): string {
  return `${fileName}${problem.line ? ` line ${problem.line}` : ''}: ${problem.message}`;
}

function formatProblems(fileName: string, problems: readonly AnswersProblem[], more: number): string {
  const total = problems.length + more;
  if (total === 1 && problems[0]) return problemLine(fileName, problems[0]);
  const lines = problems.map((p) => `  ${problemLine(fileName, p)}`);
  if (more > 0) lines.push(`  …and ${more} more`);
  return `${fileName} has ${total} problems:\n${lines.join('\n')}`;
}

function missingText(key: string): string {
  const question = QUESTIONS.find((q) => q.key === key);
  if (!question) return key;
  const because = question.when ? ` (needed because ${conditionText(question.when)})` : '';
  const what = question.secret ? question.help : `must be ${allowedText(question)}`;
  return `${key}${because}: ${what}`;
}

/** Collects problems up to MAX_PROBLEMS and counts the rest. */
class Problems {
  readonly list: AnswersProblem[] = [];
  more = 0;
  add(problem: AnswersProblem): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(problem);
    else this.more += 1;
  }
  get count(): number {
    return this.list.length + this.more;
  }
}

/**
 * Parses an answers file (YAML or JSON) and checks every key against the declarations.
 * Throws AnswersFileError (a UsageError, exit 2) naming every problem with its line; keys
 * left out (or given as null) are simply not in the result: see resolveAnswers().
 */
export function parseAnswersFile(text: string, fileName: string): Answers {
  // Typed out so that the compiler knows that code after fail() does not run.
  const fail: (message: string, line?: number) => never = (message, line) => {
    throw new AnswersFileError(fileName, [{ message, line }]);
  };
  if (text.length > MAX_ANSWERS_FILE_BYTES) {
    fail(`is too big (${text.length} characters; an answers file is at most ${MAX_ANSWERS_FILE_BYTES / 1024} KiB)`);
  }
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const badChar = firstNonPrintable(source);
  if (badChar) {
    const line = source.slice(0, badChar.offset).split('\n').length;
    fail(`holds a ${badChar.what} (U+${badChar.code}): this is not a text answers file`, line);
  }
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;

  const tokens = tokenize(source, lineCounter);
  if (!Array.isArray(tokens)) {
    fail(`lists or mappings nested more than ${MAX_NESTING} levels deep: an answers file needs 3`, lineAt(tokens.offset));
  }
  const documents = tokens.filter((t) => t.type === 'document');
  if (documents.length > 1) {
    fail('a second YAML document starts here: put every answer in one document', lineAt(documents[1]!.offset));
  }
  // Duplicate keys are found by the walker, which can name both lines.
  const composer = new Composer({ uniqueKeys: false, strict: true });
  const doc = Array.from(composer.compose(tokens, true, source.length))[0]!;

  const problems = new Problems();
  // Syntax errors first, and only those: after one, the rest of the tree is guesswork.
  [...doc.errors, ...doc.warnings].forEach((error, index) => {
    if (index < 5) problems.add({ message: yamlMessage(error.message), line: lineAt(error.pos[0]) });
    else problems.more += 1;
  });
  if (problems.count > 0) throw new AnswersFileError(fileName, problems.list, problems.more);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    fail('is empty: an answers file is a mapping of keys to values, like "target: overlay2"');
  }

  const walker = new Walker(doc, problems, lineAt);
  const answers = walker.root();
  for (const problem of crossCheck(answers)) {
    problems.add({ ...problem, line: problem.key ? walker.lines.get(problem.key) : undefined });
  }
  if (problems.count > 0) throw new AnswersFileError(fileName, problems.list, problems.more);
  return answers;
}

/**
 * The yaml library's message, without the source text some messages quote: a line that does
 * not parse may be a password pasted in the wrong place, and errors end up in logs.
 */
function yamlMessage(message: string): string {
  const first = message
    .split('\n')[0]!
    .replace(/:$/, '')
    .replace(/: ".*"$/s, '')
    .replace(/^(Not a YAML token|Block scalar header includes extra characters|Unsupported YAML version): .*$/s, '$1');
  return `not valid YAML: ${clip(first, 120)}`;
}

/** The first character outside YAML's printable set (YAML 1.2 §5.1), or undefined. */
function firstNonPrintable(text: string): { offset: number; code: string; what: string } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) continue;
    if (c === 0x09 || c === 0x0a || c === 0x0d || c === 0x85) continue;
    if ((c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd)) continue;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
    }
    const code = c.toString(16).toUpperCase().padStart(4, '0');
    const what = c >= 0xd800 && c <= 0xdfff ? 'broken character' : c === 0xfffe || c === 0xffff ? 'non-character' : 'control character';
    return { offset: i, code, what };
  }
  return undefined;
}

/**
 * The CST tokens of the text, or where nesting got too deep. The composer recurses once per
 * level, and a deep enough "[[[[…" exhausts the stack (in V8, at times inside a regular
 * expression compile: a crash, not an exception); the parser's own stack is the open path, so
 * watching it while lexing stops such input at once instead of after parsing all of it.
 */
function tokenize(source: string, lineCounter: LineCounter): CST.Token[] | { offset: number } {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(source)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // The stack holds the document and each open collection (and at times one scalar).
    if (parser.stack.length > MAX_NESTING + 2) return { offset: parser.offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

interface KeyEntry {
  question?: Question;
  section?: boolean;
}

/** The keys allowed at each level: "" for the top, a section's name for its mapping. */
const KEY_TREE: ReadonlyMap<string, ReadonlyMap<string, KeyEntry>> = (() => {
  const tree = new Map<string, Map<string, KeyEntry>>([['', new Map()]]);
  for (const question of FILE_QUESTIONS) {
    const parts = question.key.split('.');
    if (parts.length === 1) {
      tree.get('')!.set(question.key, { question });
    } else {
      const [section, name] = parts as [string, string];
      tree.get('')!.set(section, { section: true });
      if (!tree.has(section)) tree.set(section, new Map());
      tree.get(section)!.set(name, { question });
    }
  }
  return tree;
})();

const SECRET_NAME = /^(password|passwd|pass|secret|token|auth)$/i;

/** Walks the composed document along the declared keys only, collecting values and problems. */
class Walker {
  /** The line of every key found, by dot path (for cross-checks). */
  readonly lines = new Map<string, number>();
  private aliases = 0;
  private readonly listed = new Set<string>();
  private readonly anchors = new Map<string, YamlNode[]>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly problems: Problems,
    private readonly lineAt: (offset: number) => number,
  ) {
    // Depth is bounded by tokenize() (MAX_NESTING), so yaml's recursive visit is safe here.
    visit(doc, {
      Node: (_key, node) => {
        const anchor = (node as { anchor?: string }).anchor;
        if (!anchor) return;
        const nodes = this.anchors.get(anchor);
        if (nodes) nodes.push(node as YamlNode);
        else this.anchors.set(anchor, [node as YamlNode]);
      },
    });
  }

  root(): Answers {
    const contents = this.deref(this.doc.contents, '');
    if (!isMap(contents)) {
      this.problem(
        `the answers file must be a mapping of keys to values, like "target: overlay2" (found ${kindOf(contents)})`,
        contents,
      );
      return {};
    }
    const answers: Record<string, unknown> = {};
    this.mapping(contents, '', answers);
    return answers as Answers;
  }

  private line(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lineAt(range[0]) : undefined;
  }

  private problem(message: string, node: unknown, key?: string): void {
    this.problems.add({ message, key, line: this.line(node) });
  }

  /** The node an alias stands for; undefined (after a problem) when there is none. */
  private deref(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node;
    this.aliases += 1;
    if (this.aliases > MAX_ALIASES) {
      if (this.aliases === MAX_ALIASES + 1) {
        this.problem(`more than ${MAX_ALIASES} aliases (*name): write the values out instead`, node);
      }
      return undefined;
    }
    const start = node.range?.[0] ?? 0;
    // The last node with that anchor that ends before the alias: never one that contains it.
    const target = (this.anchors.get(node.source) ?? []).filter((n) => (n.range?.[2] ?? Infinity) <= start).pop();
    if (!target) {
      const where = path ? `${path}: ` : '';
      this.problem(`${where}alias *${clip(node.source, 40)} has no anchor &${clip(node.source, 40)} before it`, node);
    }
    return target;
  }

  private mapping(map: YamlNode, prefix: string, into: Record<string, unknown>): void {
    const allowed = KEY_TREE.get(prefix)!;
    const seen = new Map<string, number | undefined>();
    if (!isMap(map)) return;
    for (const pair of map.items) {
      const keyNode = this.deref(pair.key, prefix);
      const where = pair.key ?? pair.value;
      if (keyNode === undefined && isAlias(pair.key)) continue; // reported by deref()
      if (!isScalar(keyNode)) {
        this.problem(`a key must be a plain name (found ${keyNode == null ? 'no key' : kindOf(keyNode)})`, where);
        continue;
      }
      if (typeof keyNode.value === 'symbol') {
        this.problem('merge keys (<<) are not supported in answers files: write the keys out', where);
        continue;
      }
      const name = scalarName(keyNode.value);
      const path = prefix ? `${prefix}.${name}` : name;
      const line = this.line(pair.key);
      if (seen.has(name)) {
        const first = seen.get(name);
        this.problem(`${printable(path)} is given twice (lines ${first} and ${line}): give it once`, pair.key, path);
        continue;
      }
      seen.set(name, line);
      const entry = allowed.get(name);
      if (!entry) {
        // The keys allowed at a level are listed once per level, not after every unknown key.
        this.problem(unknownKeyMessage(prefix, name, !this.listed.has(prefix)), pair.key);
        this.listed.add(prefix);
        continue;
      }
      if (line !== undefined) this.lines.set(path, line);
      const value = this.deref(pair.value, path);
      if (value === undefined || value === null || (isScalar(value) && value.value === null)) continue;
      if (entry.section) {
        if (!isMap(value)) {
          const keys = [...KEY_TREE.get(path)!.keys()].join(', ');
          this.problem(`${path} must be a mapping with the keys ${keys} (found ${kindOf(value)})`, pair.value, path);
          continue;
        }
        const section: Record<string, unknown> = {};
        this.mapping(value, path, section);
        into[name] = section;
      } else if (entry.question) {
        const parsed = this.value(entry.question, value as YamlNode, pair.value, path);
        if (parsed !== undefined) into[name] = parsed;
      }
    }
  }

  /**
   * A key's value, or undefined after a problem. `written` is the node as written: an alias
   * rather than what it stands for, so that problems point at the line that uses it.
   */
  private value(question: Question, node: YamlNode, written: unknown, path: string): unknown {
    if (question.kind === 'list') {
      if (!isSeq(node)) {
        this.problem(`${path} must be ${allowedText(question)} (found ${describe(node, question.quiet)})`, written, path);
        return undefined;
      }
      if (node.items.length > question.maxItems) {
        this.problem(`${path} must be a list of at most ${question.maxItems} items (found ${node.items.length})`, written, path);
        return undefined;
      }
      const items: string[] = [];
      let ok = true;
      node.items.forEach((raw, index) => {
        const item = this.deref(raw, `${path}[${index}]`);
        if (item === undefined && isAlias(raw)) {
          ok = false;
          return;
        }
        const value = isScalar(item) ? item.value : item;
        const problem = checkListItem(question, value);
        if (problem) {
          ok = false;
          this.problem(`${path}[${index}] ${problem} (found ${describe(item, question.quiet)})`, isAlias(raw) ? raw : (item ?? written), path);
        } else {
          items.push(value as string);
        }
      });
      return ok ? items : undefined;
    }
    const value = isScalar(node) ? node.value : node;
    const check = checkValue(question, value);
    if (check) {
      this.problem(`${path} ${check.problem} (found ${describe(node, question.quiet)}${suggestChoice(question, value)})`, written, path);
      return undefined;
    }
    return value;
  }
}

function scalarName(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A name from the file, short and on one line: "a\nb" rather than a line break. */
function printable(text: string): string {
  return JSON.stringify(clip(text, 60)).slice(1, -1);
}

/** "a mapping", "a list", "a string": what a node is, never what it holds. */
function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return kindOfValue(node.value);
  return node === undefined ? 'nothing' : 'something else';
}

function kindOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number';
  if (typeof value === 'boolean') return 'true or false';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Date) return 'a date';
  return 'an unusual value';
}

/** The found value for a message: short, escaped, and only its kind for quiet keys. */
function describe(node: unknown, quiet: boolean | undefined): string {
  if (!isScalar(node)) return kindOf(node);
  const value = node.value;
  if (quiet) return kindOfValue(value);
  if (typeof value === 'string') {
    const shown = JSON.stringify(clip(value, 60));
    return value.length > 60 ? `${shown}, ${value.length} characters` : shown;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return clip(String(value), 60);
  return kindOfValue(value);
}

function suggestChoice(question: Question, value: unknown): string {
  if (question.kind !== 'choice' || typeof value !== 'string') return '';
  const near = closest(value, question.choices.map((c) => c.value));
  return near ? `; did you mean "${near}"?` : '';
}

function unknownKeyMessage(prefix: string, name: string, listAllowed: boolean): string {
  const path = printable(prefix ? `${prefix}.${name}` : name);
  if (SECRET_NAME.test(name)) {
    return (
      `unknown key "${path}": secrets are never written in the answers file; set registry.passwordEnv ` +
      'to the name of an environment variable that holds it, or registry.passwordFile to a file that holds it'
    );
  }
  const siblings = [...KEY_TREE.get(prefix)!.keys()];
  const here = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const lower = name.toLowerCase();
  // The right name in the wrong place ("device" at the top is directLvm.device) beats a near name here.
  const sameCase = siblings.find((key) => key.toLowerCase() === lower);
  const elsewhere = FILE_QUESTIONS.map((q) => q.key).filter((key) => key.split('.').pop()!.toLowerCase() === lower);
  const near = closest(name, siblings);
  const meant = sameCase ? [here(sameCase)] : elsewhere.length > 0 ? elsewhere : near ? [here(near)] : [];
  if (meant.length > 0 && meant.length <= 3) {
    return `unknown key "${path}" (did you mean ${meant.map((k) => `"${k}"`).join(' or ')}?)`;
  }
  if (!listAllowed) return `unknown key "${path}"`;
  return `unknown key "${path}" (${prefix ? `${prefix} has` : 'the keys are'}: ${siblings.join(', ')})`;
}

/** The candidate within a small edit distance (or equal but for case), if exactly one is. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const lower = word.toLowerCase();
  const limit = word.length <= 4 ? 1 : 2;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase(), limit);
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance with adjacent swaps counted as one edit; gives up above `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, previous2[j - 2]! + 1);
      current.push(d);
    }
    previous2 = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** Checks that span keys (pure; no line numbers): used on files and on the wizard's answers. */
export function crossCheck(answers: Answers): AnswersProblem[] {
  const problems: AnswersProblem[] = [];
  const thinpool = effectiveAnswer(answers, 'directLvm.thinpoolPercent');
  const metadata = effectiveAnswer(answers, 'directLvm.metadataPercent');
  const given = ['directLvm.metadataPercent', 'directLvm.thinpoolPercent'].find((k) => getAnswer(answers, k) !== undefined);
  if (given && typeof thinpool === 'number' && typeof metadata === 'number' && thinpool + metadata > 100) {
    problems.push({
      key: given,
      message:
        `directLvm.thinpoolPercent (${thinpool}) and directLvm.metadataPercent (${metadata}) add up to ` +
        `${thinpool + metadata}: together they must be at most 100 (percent of one volume group)`,
    });
  }
  const ignored = getAnswer(answers, 'ignoreBlockers');
  const refused = Array.isArray(ignored) ? ignored.filter((key): key is string => typeof key === 'string' && NOT_WAIVABLE.has(key)) : [];
  if (refused.length) {
    problems.push({
      key: 'ignoreBlockers',
      message:
        `ignoreBlockers names ${refused.map((k) => `"${k}"`).join(', ')}: ${refused.length === 1 ? 'it' : 'they'} cannot be overridden ` +
        '(a disk would be wiped, the current pool lost, the run files moved away with the data-root, or a --rm container deleted); remove it from the list and fix what preflight says',
    });
  }
  return problems;
}

/** The keys that must still be answered (in declaration order), e.g. ["target"]. */
export function missingAnswers(answers: Answers, secrets: AnswerSecrets = {}): string[] {
  return QUESTIONS.filter((q) => q.required && isApplicable(q, answers) && !isAnswered(q, answers, secrets)).map(
    (q) => q.key,
  );
}

export interface ResolveOptions {
  /** The run's state dir: the default backup.directory. */
  stateDir?: string;
  /** Answers to secret questions the wizard asked (they satisfy, e.g., registry.password). */
  secrets?: AnswerSecrets;
  /** Names the answers in messages, e.g. the file name; "the answers" by default. */
  source?: string;
}

/**
 * Fills in the defaults. Throws MissingAnswersError (exit 2) naming every required key that
 * is not answered, and AnswersFileError for values the declarations do not allow.
 */
export function resolveAnswers(answers: Answers, options: ResolveOptions = {}): ResolvedAnswers {
  const source = options.source ?? 'the answers';
  const problems = new Problems();
  for (const question of FILE_QUESTIONS) {
    const check = checkValue(question, getAnswer(answers, question.key));
    const index = check?.index === undefined ? '' : `[${check.index}]`;
    if (check) problems.add({ key: question.key, message: `${question.key}${index} ${check.problem}` });
  }
  for (const problem of crossCheck(answers)) problems.add(problem);
  if (problems.count > 0) throw new AnswersFileError(source, problems.list, problems.more);
  const missing = missingAnswers(answers, options.secrets);
  if (missing.length > 0) throw new MissingAnswersError(source, missing);

  const value = <T>(key: string) => effectiveAnswer(answers, key) as T;
  const list = (key: string) => [...value<string[]>(key)];
  const given = (key: string) => {
    const v = getAnswer(answers, key);
    return typeof v === 'string' && v !== '' ? { [key.split('.').pop()!]: v } : {};
  };
  const target = value<ResolvedAnswers['target']>('target');
  const manager = value<ResolvedAnswers['service']['manager']>('service.manager');
  return {
    target,
    ...(target === 'direct-lvm' && {
      directLvm: {
        device: value<string>('directLvm.device'),
        wipeSignatures: value<boolean>('directLvm.wipeSignatures'),
        thinpoolPercent: value<number>('directLvm.thinpoolPercent'),
        metadataPercent: value<number>('directLvm.metadataPercent'),
        autoextendThreshold: value<number>('directLvm.autoextendThreshold'),
        autoextendPercent: value<number>('directLvm.autoextendPercent'),
      },
    }),
    images: {
      include: list('images.include'),
      exclude: list('images.exclude'),
      save: value<boolean>('images.save'),
      push: value<boolean>('images.push'),
    },
    ...(value<boolean>('images.push') && {
      registry: {
        address: value<string>('registry.address'),
        repositoryPrefix: value<string>('registry.repositoryPrefix'),
        ...given('registry.username'),
        ...given('registry.passwordEnv'),
        ...given('registry.passwordFile'),
        insecure: value<boolean>('registry.insecure'),
      },
    }),
    containers: {
      include: list('containers.include'),
      exclude: list('containers.exclude'),
      keepWritableLayer: value<boolean>('containers.keepWritableLayer'),
    },
    volumes: {
      include: list('volumes.include'),
      exclude: list('volumes.exclude'),
      archive: value<boolean>('volumes.archive'),
    },
    staging: value<ResolvedAnswers['staging']>('staging'),
    backup: {
      directory: value<string | undefined>('backup.directory') ?? options.stateDir ?? DEFAULT_STATE_DIR,
      dataRoot: value<ResolvedAnswers['backup']['dataRoot']>('backup.dataRoot'),
    },
    service: {
      manager,
      stop: manager === 'command' ? value<string>('service.stop') : '',
      start: manager === 'command' ? value<string>('service.start') : '',
      timeoutSeconds: value<number>('service.timeoutSeconds'),
    },
    ...(typeof value<string | undefined>('source.dockerd') === 'string' && value<string>('source.dockerd') !== '' && { source: { dockerd: value<string>('source.dockerd') } }),
    rollbackOnFailure: value<boolean>('rollbackOnFailure'),
    ignoreBlockers: list('ignoreBlockers'),
  };
}
