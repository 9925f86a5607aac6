/**
 * A container's writable layer: the files added or changed inside it, kept in one tar through
 * the Docker API (`GET /containers/{id}/changes` and `GET …/archive`) and put back on the
 * recreated container (`PUT …/archive?path=/`). No commit: the container keeps its original
 * image reference, and nothing is paused.
 *
 * The archive endpoint names entries relative to the requested path's parent ("f" for
 * /srv/f); entries are renamed to root-relative names ("srv/f") by rewriting the tar headers
 * byte for byte, so PAX records the daemon writes (notably the binary `security.capability`
 * extended attribute) reach the restore unchanged.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { OperatorError } from '../errors.js';
import {
  isTarMetaType,
  isZeroBlock,
  parsePaxRecords,
  paxSize,
  readTarHeader,
  TAR_BLOCK as BLOCK,
  tarHeaderChecksum,
  TarFormatError,
  type PaxRecord,
} from '../archive/tar-header.js';
import { writeFileDurably } from '../fs/atomic-file.js';
import type { ContainerInspect } from './create-spec.js';

/** One entry of `GET /containers/{id}/changes`. */
export interface LayerChange {
  Path: string;
  /** 0 modified, 1 added, 2 deleted. */
  Kind: number;
}

/** Files the daemon writes or mounts itself in every container: never part of what the user changed. */
export const DAEMON_MANAGED_PATHS: readonly string[] = [
  '/etc/hostname',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/.dockerenv',
  '/dev',
  '/proc',
  '/sys',
  '/run/.containerenv',
];

/** What planLayerCapture decides for one container's changes. */
export interface LayerPlan {
  /** Topmost added or changed paths to archive, sorted. */
  archive: string[];
  /** Topmost deleted paths: cannot be replayed through the API. */
  deleted: string[];
  /** Added paths kept (every listed one, files and directories). */
  added: number;
  /** Changed paths kept (directories that merely hold changed entries are not counted). */
  changed: number;
  /** Paths left out: under a mount or managed by the daemon. */
  skipped: string[];
}

const isUnder = (path: string, root: string): boolean => path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);

function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) out.push(path.slice(0, i));
  return out;
}

/** The roots whose contents are not the container's layer: its mounts, tmpfs and the daemon's files. */
export function layerExclusions(inspect: Pick<ContainerInspect, 'Mounts' | 'HostConfig'>): string[] {
  const roots = new Set(DAEMON_MANAGED_PATHS);
  for (const mount of inspect.Mounts ?? []) roots.add(mount.Destination);
  for (const mount of inspect.HostConfig.Mounts ?? []) roots.add(mount.Target);
  for (const path of Object.keys(inspect.HostConfig.Tmpfs ?? {})) roots.add(path);
  return [...roots].map((root) => (root.length > 1 ? root.replace(/\/+$/, '') : root)).sort();
}

/**
 * Which paths to archive (pure). An added path brings its whole subtree, so only the topmost
 * ones are fetched. A modified directory (Kind 0 with listed entries below it) is not fetched
 * whole, which would copy every unchanged file in it: its changed entries are fetched instead,
 * and its own mode/owner/mtime changes are not kept.
 */
export function planLayerCapture(changes: readonly LayerChange[], exclusions: readonly string[]): LayerPlan {
  const excluded = (path: string) => exclusions.some((root) => isUnder(path, root));
  const directories = new Set(changes.flatMap((change) => parentsOf(change.Path)));
  const kept = changes.filter((change) => !excluded(change.Path)).sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  const plan: LayerPlan = {
    archive: [],
    deleted: [],
    added: 0,
    changed: 0,
    skipped: changes.filter((change) => excluded(change.Path)).map((change) => change.Path).sort(),
  };
  const archived = new Set<string>();
  const deleted = new Set<string>();
  for (const { Path: path, Kind: kind } of kept) {
    const coveredBy = (set: Set<string>) => parentsOf(path).some((parent) => set.has(parent));
    if (kind === 2) {
      if (!coveredBy(deleted)) plan.deleted.push(path);
      deleted.add(path);
      continue;
    }
    const isModifiedDirectory = kind === 0 && directories.has(path);
    if (kind === 1) plan.added += 1;
    else if (!isModifiedDirectory) plan.changed += 1;
    if (isModifiedDirectory || coveredBy(archived)) continue;
    archived.add(path);
    plan.archive.push(path);
  }
  return plan;
}

// ---- tar header rewriting (byte-exact) ------------------------------------------------

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** Pulls exact byte counts out of an async byte stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  /** Bytes handed out so far: where the next read starts in the archive. */
  offset = 0;
  constructor(private readonly source: AsyncIterator<Buffer | Uint8Array | string>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
        this.chunks.push(chunk);
        this.length += chunk.length;
      }
    }
    return this.length >= n;
  }

  private take(n: number): Buffer {
    const out = Buffer.concat(this.chunks, this.length);
    this.chunks = n < out.length ? [out.subarray(n)] : [];
    this.length = out.length - n;
    return out.subarray(0, n);
  }

  /** Exactly n bytes, or undefined at a clean end of stream before any of them. */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.length === 0) return undefined;
      throw new TarFormatError(`the archive is cut short (truncated at byte ${this.offset + this.length}: wanted ${n} more bytes, got ${this.length})`);
    }
    this.offset += n;
    return this.take(n);
  }

  /** The next n bytes in chunks as they come (for file contents). */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill(1))) throw new TarFormatError(`the archive is cut short (truncated: ${left} content bytes missing)`);
      const first = this.chunks[0] as Buffer;
      const piece = first.length <= left ? first : first.subarray(0, left);
      if (piece === first) this.chunks.shift();
      else this.chunks[0] = first.subarray(left);
      this.length -= piece.length;
      this.offset += piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async drain(): Promise<void> {
    while (await this.fill(this.length + 1)) this.take(this.length);
  }
}

// Names are handled as latin1 strings: one char per byte, so non-UTF-8 names survive.
const latin1 = (bytes: Buffer): string => bytes.toString('latin1');

function writeOctal(block: Buffer, start: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', start, length, 'latin1');
}

function setChecksum(block: Buffer): void {
  block.write(tarHeaderChecksum(block).toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
}

function setField(block: Buffer, start: number, length: number, value: string): void {
  block.fill(0, start, start + length);
  block.write(value, start, length, 'latin1');
}

const isUstar = (block: Buffer) => block.toString('latin1', 257, 263) === 'ustar\0';

function encodePax(records: readonly PaxRecord[]): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')]);
      let length = body.length + 1;
      while (String(length).length + body.length !== length) length = String(length).length + body.length;
      return Buffer.concat([Buffer.from(String(length), 'latin1'), body]);
    }),
  );
}

function paxHeaderBlock(template: Buffer | undefined, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  if (template) template.copy(block);
  else {
    setField(block, 100, 8, '0000644');
    block.write('ustar\x0000', 257, 8, 'latin1');
    writeOctal(block, 136, 12, mtime);
  }
  setField(block, 0, 100, 'PaxHeader');
  if (isUstar(block)) setField(block, 345, 155, '');
  block.write('x', 156, 1, 'latin1');
  writeOctal(block, 124, 12, size);
  setChecksum(block);
  return block;
}

const fitsUstar = (name: string) => name.length <= 100 && !/[^\x20-\x7e]/.test(name);

/**
 * Re-emits the archive endpoint's tar with every name under `base` ("srv" for /srv/f), without
 * its end-of-archive blocks, dropping entries whose root-relative path `exclude` rejects.
 */
export async function* rewriteTar(source: AsyncIterable<Buffer | Uint8Array | string>, base: string, exclude: (absolute: string) => boolean): AsyncGenerator<Buffer> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const prefix = base ? `${Buffer.from(base, 'utf8').toString('latin1')}/` : '';
  let pax: PaxRecord[] = [];
  let paxTemplate: Buffer | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const at = reader.offset;
    const header = await reader.read(BLOCK);
    if (!header || isZeroBlock(header)) break;
    const fields = readTarHeader(header, at);
    const type = fields.typeflag;
    let size = fields.size;
    if (isTarMetaType(type)) {
      const data = (await reader.read(padded(size)))?.subarray(0, size) ?? Buffer.alloc(0);
      if (type === 'x') {
        pax = parsePaxRecords(data);
        paxTemplate = header;
      } else if (type === 'L') longName = data.toString('latin1').replace(/\0+$/, '');
      else if (type === 'K') longLink = data.toString('latin1').replace(/\0+$/, '');
      // 'g' (global) records would apply to every later entry of the combined archive: dropped.
      continue;
    }
    const paxValue = (key: string) => pax.find(([k]) => k === key)?.[1].toString('latin1');
    size = paxSize(paxValue('size')) ?? size;
    const name = paxValue('path') ?? longName ?? (fields.prefix.length > 0 ? `${latin1(fields.prefix)}/${latin1(fields.name)}` : latin1(fields.name));
    const link = paxValue('linkpath') ?? longLink ?? latin1(fields.linkname);
    const records = pax.filter(([key]) => key !== 'path' && key !== 'linkpath');
    const template = paxTemplate;
    pax = [];
    paxTemplate = longName = longLink = undefined;

    const newName = prefix + name.replace(/^\.\//, '');
    const absolute = `/${Buffer.from(newName, 'latin1').toString('utf8')}`.replace(/\/+$/, '');
    if (exclude(absolute)) {
      for await (const _ of reader.stream(padded(size))) void _;
      continue;
    }
    // Hard links name another entry of the same archive; symlink targets are left alone.
    const newLink = type === '1' && link ? prefix + link.replace(/^\.\//, '') : link;
    const out = Buffer.from(header);
    if (fitsUstar(newName)) setField(out, 0, 100, newName);
    else {
      setField(out, 0, 100, newName.slice(0, 99));
      records.unshift(['path', Buffer.from(newName, 'latin1')]);
    }
    if (isUstar(out)) setField(out, 345, 155, '');
    if (fitsUstar(newLink)) setField(out, 157, 100, newLink);
    else {
      setField(out, 157, 100, newLink.slice(0, 99));
      records.push(['linkpath', Buffer.from(newLink, 'latin1')]);
    }
    setChecksum(out);
    if (records.length) {
      const data = encodePax(records);
      yield paxHeaderBlock(template, data.length, fields.mtime);
      yield Buffer.concat([data, Buffer.alloc(padded(data.length) - data.length)]);
    }
    yield out;
    yield* reader.stream(padded(size));
  }
  await reader.drain();
}

// ---- capture and restore -----------------------------------------------------------------

/** What captureWritableLayer kept, and what it could not. */
export interface LayerCapture {
  /** Added paths kept (files and directories). */
  added: number;
  /** Modified files kept. */
  changed: number;
  /** Deleted paths: cannot be put back through the API, to be named in the report. */
  deleted: string[];
  /** Size of the archive written. */
  bytes: number;
  /** "sha256:<hex>" of the archive written. */
  sha256: string;
  /** The topmost paths archived. */
  archived: string[];
  /** Changed paths left out because they sit under a mount or are the daemon's own files. */
  skipped: string[];
  /** Paths the daemon listed as changed but would not hand out (e.g. a name that is not UTF-8). */
  unreadable: string[];
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/** The changes answer: a JSON array, or `null` for none, which dockerode hands over unparsed. */
function changeList(raw: unknown): LayerChange[] {
  if (Array.isArray(raw)) return raw as LayerChange[];
  const parsed: unknown = raw === null || raw === undefined ? null : JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
  if (parsed === null) return [];
  if (Array.isArray(parsed)) return parsed as LayerChange[];
  throw new Error(`unexpected answer to GET /containers/{id}/changes: ${String(raw).slice(0, 200)}`);
}

/**
 * Writes the container's added and changed files into one tar at destPath (via
 * destPath.partial, fsynced and renamed when complete), with root-relative names, for
 * restoreWritableLayer. Works on a stopped container; deleted files are returned, not kept.
 */
export async function captureWritableLayer(client: Docker, containerId: string, destPath: string): Promise<LayerCapture> {
  const container = client.getContainer(containerId);
  const inspect = (await container.inspect()) as unknown as ContainerInspect;
  const changes = changeList(await container.changes());
  const exclusions = layerExclusions(inspect);
  const plan = planLayerCapture(changes, exclusions);
  const excluded = (path: string) => exclusions.some((root) => isUnder(path, root));

  const hash = createHash('sha256');
  let bytes = 0;
  const unreadable: string[] = [];
  await writeFileDurably(destPath, async (partial) => {
    const file = await open(partial, 'w', 0o600);
    try {
      const write = async (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        await file.write(chunk);
      };
      for (const path of plan.archive) {
        let stream: Readable;
        try {
          stream = (await container.getArchive({ path })) as Readable;
        } catch (error) {
          if (statusOf(error) === 404) {
            unreadable.push(path);
            continue;
          }
          throw error;
        }
        const base = path.slice(1, path.lastIndexOf('/'));
        for await (const chunk of rewriteTar(stream, base, excluded)) await write(chunk);
      }
      await write(Buffer.alloc(2 * BLOCK));
    } finally {
      await file.close();
    }
  });
  return {
    added: plan.added,
    changed: plan.changed,
    deleted: plan.deleted,
    bytes,
    sha256: `sha256:${hash.digest('hex')}`,
    archived: plan.archive.filter((path) => !unreadable.includes(path)),
    skipped: plan.skipped,
    unreadable,
  };
}

/**
 * Puts a captureWritableLayer archive back at `/` of a container (created, not yet started).
 * An archive with no entries is skipped: nothing to put back, and a read-only root refuses any PUT.
 */
export async function restoreWritableLayer(client: Docker, containerId: string, archivePath: string): Promise<void> {
  const { size } = await stat(archivePath);
  if (size <= 2 * BLOCK) return;
  try {
    await client.getContainer(containerId).putArchive(createReadStream(archivePath), { path: '/' });
  } catch (error) {
    const message = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
    throw new OperatorError(
      `Docker refused to put the kept files back into container ${containerId}: ${message}`,
      `The archive ${archivePath} is intact; fix the cause (space, a read-only root file system) and resume.`,
    );
  }
}
