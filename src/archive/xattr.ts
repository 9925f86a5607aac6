/**
 * Extended attributes. Node has no xattr API and the project adds no native addons, so the
 * caller (src/host, or a test) reads and writes them with one `getfattr`/`setfattr` process
 * per tree; this module only defines those hooks and converts their text format.
 *
 * Read:  getfattr --recursive --physical --no-dereference --dump --match=- --encoding=hex --absolute-names ROOT
 * Write: setfattr --no-dereference --restore=-   (stdin: formatSetfattrRestore(...))
 */
import path from 'node:path';

/** Attribute name → raw value, for one file. */
export type Xattrs = Map<string, Buffer>;

/** Every file's attributes under a tree, keyed by path relative to the root ('' is the root). */
export type TreeXattrs = Map<string, Xattrs>;

/** Reads the extended attributes of every entry under `root` (without following symlinks). */
export type XattrReader = (root: string) => Promise<TreeXattrs>;

/** Sets the given attributes on entries under `root` (without following symlinks). */
export type XattrWriter = (root: string, entries: TreeXattrs) => Promise<void>;

/** The getfattr arguments whose output parseGetfattrDump reads. */
export function getfattrArgs(root: string): string[] {
  return ['--recursive', '--physical', '--no-dereference', '--dump', '--match=-', '--encoding=hex', '--absolute-names', root];
}

/** The setfattr arguments that read formatSetfattrRestore's text on stdin. */
export const SETFATTR_RESTORE_ARGS: readonly string[] = ['--no-dereference', '--restore=-'];

/** Parses `getfattr --dump --encoding=hex --absolute-names` output into paths relative to `root`. */
export function parseGetfattrDump(text: string, root: string): TreeXattrs {
  const result: TreeXattrs = new Map();
  const base = path.resolve(root);
  let current: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const file = unquote(line.slice('# file: '.length));
      const rel = path.relative(base, path.resolve('/', file));
      if (rel.startsWith('..')) throw new Error(`getfattr printed a path outside ${base}: ${file}`);
      current = new Map();
      result.set(rel, current);
      continue;
    }
    if (line === '' || line.startsWith('#') || current === undefined) continue;
    const eq = line.indexOf('=');
    const name = unquote(eq === -1 ? line : line.slice(0, eq));
    current.set(name, eq === -1 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1)));
  }
  for (const [rel, attrs] of result) if (attrs.size === 0) result.delete(rel);
  return result;
}

/** Text for `setfattr --restore=-` that sets `entries` under `root`. */
export function formatSetfattrRestore(entries: TreeXattrs, root: string): string {
  const out: string[] = [];
  for (const [rel, attrs] of entries) {
    out.push(`# file: ${quote(path.join(path.resolve(root), rel))}`);
    for (const [name, value] of attrs) out.push(`${quote(name, true)}=0x${value.toString('hex')}`);
    out.push('');
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

function decodeValue(text: string): Buffer {
  if (/^0x[0-9a-f]*$/i.test(text)) return Buffer.from(text.slice(2), 'hex');
  if (/^0s/.test(text)) return Buffer.from(text.slice(2), 'base64');
  if (text.startsWith('"') && text.endsWith('"')) return unquoteBytes(text.slice(1, -1));
  return Buffer.from(text);
}

// getfattr escapes bytes such as newline, '=' and '\' in names as \ooo (octal).
function unquote(text: string): string {
  return unquoteBytes(text).toString('utf8');
}

function unquoteBytes(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const octal = byte === 0x5c ? bytes.subarray(i + 1, i + 4).toString('latin1') : '';
    if (byte === 0x5c && /^[0-7]{3}$/.test(octal)) {
      out.push(parseInt(octal, 8));
      i += 3;
    } else if (byte === 0x5c && bytes[i + 1] === 0x5c) {
      out.push(0x5c);
      i += 1;
    } else {
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

function quote(text: string, isName = false): string {
  const special = isName ? /[\n\r=\\ \t]/ : /[\n\r\\]/;
  let out = '';
  for (const ch of text) {
    out += special.test(ch) ? `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}` : ch;
  }
  return out;
}
