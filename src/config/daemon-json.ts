/**
 * Parsing of dockerd's configuration file (daemon.json) for reading, and reuse by the rewrite.
 *
 * Decisions, matching what dockerd itself accepts where the engines agree:
 * - An empty or whitespace-only file is an empty configuration ({}): dockerd returns early on
 *   an empty file rather than failing.
 * - A UTF-8 byte order mark is stripped and reported (`bom: true`): engines from 23.0 strip it,
 *   older ones fail with "invalid character 'ï' looking for beginning of value", so callers warn.
 * - CRLF line ends are valid JSON whitespace; `crlf: true` is reported so a rewrite can keep them.
 * - Comments, trailing commas, single quotes are not JSON and are errors with a line and column
 *   (1-based, counted after the BOM, a tab counting as one column).
 * - The top-level value must be an object.
 * - A key given twice in one object is an error at its second place: dockerd quietly takes the
 *   last value, and a rewrite could not keep both, so the operator decides which one stands.
 * The error position comes from our own scanner, not from JSON.parse, whose messages differ
 * between Node versions and do not always carry a position.
 */

export interface JsonSyntaxProblem {
  message: string;
  /** 1-based line and column. */
  line: number;
  column: number;
  /** 0-based offset in the text after the BOM. */
  offset: number;
}

export type DaemonJsonParse =
  | { ok: true; value: Record<string, unknown>; empty: boolean; bom: boolean; crlf: boolean }
  | { ok: false; error: JsonSyntaxProblem; bom: boolean; crlf: boolean };

/** Storage-related settings of a daemon.json, with their daemon.json key names. */
export interface DaemonJsonStorage {
  storageDriver?: string;
  storageOpts: string[];
  /** `data-root`, or the older `graph`. */
  dataRoot?: string;
  /** Which key set the data root. */
  dataRootKey?: 'data-root' | 'graph';
}

const BOM = '\uFEFF';

/** Parses daemon.json text into an object, or a syntax problem with line and column. */
export function parseDaemonJson(text: string): DaemonJsonParse {
  const bom = text.startsWith(BOM);
  const body = bom ? text.slice(1) : text;
  const crlf = body.includes('\r\n');
  if (body.trim() === '') return { ok: true, value: {}, empty: true, bom, crlf };
  const problem = findJsonProblem(body);
  if (problem) return { ok: false, error: problem, bom, crlf };
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const offset = body.length - body.trimStart().length;
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return {
      ok: false,
      error: { message: `the file must hold a JSON object ({ ... }), not ${kind}`, ...position(body, offset), offset },
      bom,
      crlf,
    };
  }
  return { ok: true, value: value as Record<string, unknown>, empty: false, bom, crlf };
}

/** The storage settings of a parsed daemon.json (values of the wrong type are ignored). */
export function daemonJsonStorage(config: Record<string, unknown>): DaemonJsonStorage {
  const result: DaemonJsonStorage = { storageOpts: [] };
  if (typeof config['storage-driver'] === 'string') result.storageDriver = config['storage-driver'];
  const opts = config['storage-opts'];
  if (Array.isArray(opts)) result.storageOpts = opts.filter((o): o is string => typeof o === 'string');
  if (typeof config['data-root'] === 'string') {
    result.dataRoot = config['data-root'];
    result.dataRootKey = 'data-root';
  } else if (typeof config.graph === 'string') {
    result.dataRoot = config.graph;
    result.dataRootKey = 'graph';
  }
  return result;
}

/** 1-based line and column of an offset; CR before LF does not count as a column. */
export function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The first JSON syntax error in a text, or undefined when it is valid JSON (RFC 8259). */
export function findJsonProblem(text: string): JsonSyntaxProblem | undefined {
  const scanner = new JsonScanner(text);
  try {
    scanner.document();
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonProblem)) throw error;
    return { message: error.message, offset: error.offset, ...position(text, error.offset) };
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

class JsonScanner {
  private pos = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  document(): void {
    this.value();
    this.space();
    if (this.pos < this.s.length) this.fail(`unexpected ${this.describe()} after the end of the JSON value`);
  }

  private fail(message: string, at = this.pos): never {
    throw new JsonProblem(message, at);
  }

  private describe(): string {
    const c = this.s[this.pos];
    if (c === undefined) return 'end of file';
    if (c === '\n' || c === '\r') return 'line break';
    return `"${c}"`;
  }

  private space(): void {
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '/' && (this.s[this.pos + 1] === '/' || this.s[this.pos + 1] === '*'))
        this.fail('comments are not allowed in JSON');
      else if (c === '#') this.fail('comments are not allowed in JSON');
      else return;
    }
  }

  private value(): void {
    this.space();
    const c = this.s[this.pos];
    if (++this.depth > 512) this.fail('nesting too deep');
    switch (c) {
      case '{':
        this.object();
        break;
      case '[':
        this.array();
        break;
      case '"':
        this.string();
        break;
      case 't':
        this.literal('true');
        break;
      case 'f':
        this.literal('false');
        break;
      case 'n':
        this.literal('null');
        break;
      case undefined:
        this.fail('unexpected end of file: a value is missing');
        break;
      case "'":
        this.fail('strings need double quotes (") in JSON, not single quotes');
        break;
      default:
        if (c === '-' || (c >= '0' && c <= '9')) this.number();
        else this.fail(`unexpected ${this.describe()} where a value should be`);
    }
    this.depth--;
  }

  private object(): void {
    this.pos++;
    this.space();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return;
    }
    const names = new Set<string>();
    for (;;) {
      this.space();
      const c = this.s[this.pos];
      if (c === '}') this.fail('a comma before "}" (trailing commas are not allowed in JSON)');
      if (c === "'") this.fail('property names need double quotes (") in JSON, not single quotes');
      if (c !== '"') this.fail(`expected a property name in double quotes, found ${this.describe()}`);
      const start = this.pos;
      this.string();
      // Valid JSON, but dockerd silently takes the last value; a rewrite would keep only one.
      const name = JSON.parse(this.s.slice(start, this.pos)) as string;
      if (names.has(name)) this.fail(`the key "${name}" is given twice in this object: keep one, so that the file says what dockerd uses`, start);
      names.add(name);
      this.space();
      if (this.s[this.pos] !== ':') this.fail(`expected ":" after the property name, found ${this.describe()}`);
      this.pos++;
      this.value();
      this.space();
      const next = this.s[this.pos];
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === '}') {
        this.pos++;
        return;
      }
      if (next === '"') this.fail('a comma is missing before this property');
      this.fail(`expected "," or "}" after a property, found ${this.describe()}`);
    }
  }

  private array(): void {
    this.pos++;
    this.space();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      if (this.s[this.pos] === ']') this.fail('a comma before "]" (trailing commas are not allowed in JSON)');
      this.value();
      this.space();
      const next = this.s[this.pos];
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === ']') {
        this.pos++;
        return;
      }
      this.fail(`expected "," or "]" in an array, found ${this.describe()}`);
    }
  }

  private string(): void {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) this.fail('a string is not closed (missing ")', start);
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === '\\') {
        const e = this.s[this.pos + 1];
        if (e === 'u') {
          if (!HEX4.test(this.s.slice(this.pos + 2, this.pos + 6))) this.fail('invalid \\u escape in a string');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`invalid escape "\\${e ?? ''}" in a string`);
        this.pos += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('a line break or control character inside a string (missing closing ")?');
      this.pos++;
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.s);
    if (!match || match[0] === '-') this.fail('invalid number');
    this.pos += match[0].length;
  }

  private literal(word: string): void {
    if (!this.s.startsWith(word, this.pos)) this.fail(`unexpected ${this.describe()} where a value should be`);
    this.pos += word.length;
  }
}
