/**
 * Image archives as `GET /images/get` (docker save) writes them: a tar with `manifest.json`,
 * `repositories`, one config blob per image and one layer tar per layer. The archive is
 * checked while it streams (one pass, nothing held in memory but small JSON files): the
 * config's sha256 must be the image ID, the tags must be the inventory's, every layer must be
 * there and, when uncompressed, hash to the config's `diff_ids`. That is what `docker load`
 * itself will insist on, found before the archive counts as complete.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal } from 'node:stream';
import { cStringBytes, isTarMetaType, isZeroBlock, parsePaxRecords, paxSize, readTarHeader, TAR_BLOCK as BLOCK, TarFormatError } from '../archive/tar-header.js';
import type { ImageRecord } from './types.js';
import { familiarRef } from './image-ref.js';

export { TarFormatError };

export interface TarEntryInfo {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  size: number;
  linkname?: string;
  /** "sha256:<hex>" of a regular file's content. */
  digest?: string;
  /** Content of a small file kept for checking: one that starts as JSON does (manifest, config, repositories). */
  content?: Buffer;
  /** Starts with the gzip magic bytes (a compressed layer: its digest is not a diff ID). */
  gzip?: boolean;
}

/** What a scan found: every entry by name, in archive order. */
export interface TarIndex {
  entries: Map<string, TarEntryInfo>;
}

/** Files kept in memory for checking: manifests and configs are kilobytes; the cap bounds memory on hostile input. */
const KEEP_MAX_FILE = 4 << 20;
const KEEP_MAX_TOTAL = 64 << 20;

/**
 * Only JSON is ever read back, and every JSON document of a save starts with `{` or `[`: a
 * small layer (a base image's, a few MB) was kept too, copied piece by piece, for nothing.
 */
const startsAsJson = (byte: number | undefined) => byte === 0x7b || byte === 0x5b;

type State = 'header' | 'meta' | 'data' | 'padding' | 'end';

/**
 * A streaming tar reader that hashes each regular file's content and keeps small ones, without
 * copying the data it skips over. Feed it with `write`, finish with `end` (throws when the
 * archive stops before its end-of-archive blocks).
 */
export class TarScanner {
  private state: State = 'header';
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private bodySize = 0;
  private zeroBlocks = 0;
  private entry: TarEntryInfo | undefined;
  private hash: Hash | undefined;
  private keep: Buffer[] | undefined;
  private firstBytes: number[] = [];
  private meta: { type: string; chunks: Buffer[]; size: number } | undefined;
  private pax: Record<string, string> = {};
  private globalPax: Record<string, string> = {};
  private gnuLongName: string | undefined;
  private gnuLongLink: string | undefined;
  private kept = 0;
  private offset = 0;
  readonly entries = new Map<string, TarEntryInfo>();

  /** Consumes the next bytes of the archive. */
  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader(this.offset + pos - BLOCK);
          }
          break;
        }
        case 'meta':
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - pos);
          const slice = chunk.subarray(pos, pos + n);
          if (this.state === 'meta') this.meta?.chunks.push(Buffer.from(slice));
          else this.onData(slice);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.finishBody();
          break;
        }
        case 'padding': {
          const n = Math.min(this.remaining, chunk.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
        case 'end': {
          // Go's tar writer stops after two zero blocks; anything but zeros after them is not ours.
          for (let i = pos; i < chunk.length; i++) {
            if (chunk[i] !== 0) throw new TarFormatError(`data after the end of the archive (at byte ${this.offset + i})`);
          }
          pos = chunk.length;
          break;
        }
      }
    }
    this.offset += chunk.length;
  }

  /** The index; throws when the archive was cut short. */
  end(): TarIndex {
    if (this.state !== 'end') {
      throw new TarFormatError(
        this.offset === 0 ? 'the archive is empty' : `the archive is cut short after ${this.offset} bytes (no end-of-archive marker)`,
      );
    }
    return { entries: this.entries };
  }

  get done(): boolean {
    return this.state === 'end';
  }

  private onHeader(at: number): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks === 2) this.state = 'end';
      return;
    }
    if (this.zeroBlocks > 0) throw new TarFormatError(`a lone zero block inside the archive (at byte ${at - BLOCK})`);
    const header = readTarHeader(h, at);
    const { typeflag, size } = header;

    if (isTarMetaType(typeflag)) {
      this.meta = { type: typeflag, chunks: [], size };
      this.startBody('meta', size);
      return;
    }

    const rawName = header.name.toString('utf8');
    const prefix = header.prefix.toString('utf8');
    const pax = { ...this.globalPax, ...this.pax };
    const name = normalizeName(pax.path ?? this.gnuLongName ?? (prefix ? `${prefix}/${rawName}` : rawName));
    const linkname = pax.linkpath ?? this.gnuLongLink ?? header.linkname.toString('utf8');
    const entrySize = paxSize(pax.size) ?? size;
    this.pax = {};
    this.gnuLongName = undefined;
    this.gnuLongLink = undefined;

    const type = entryType(typeflag);
    const entry: TarEntryInfo = { name, type, size: type === 'file' ? entrySize : 0 };
    if (type === 'symlink' || type === 'hardlink') entry.linkname = linkname;
    this.entries.set(name, entry);
    this.entry = entry;
    // Links, directories, devices and fifos carry no data whatever their size field says (as Go's reader).
    const bodySize = '123456'.includes(typeflag) ? 0 : entrySize;
    if (type === 'file') {
      this.hash = createHash('sha256');
      this.firstBytes = [];
      this.keep = entrySize <= KEEP_MAX_FILE && this.kept + entrySize <= KEEP_MAX_TOTAL ? [] : undefined;
      if (this.keep) this.kept += entrySize;
    } else {
      this.hash = undefined;
      this.keep = undefined;
    }
    this.startBody('data', bodySize);
  }

  private startBody(state: 'meta' | 'data', size: number): void {
    this.bodySize = size;
    if (size === 0) {
      this.state = state;
      this.remaining = 0;
      this.finishBody();
      return;
    }
    this.state = state;
    this.remaining = size;
  }

  private onData(slice: Buffer): void {
    if (!this.hash) return;
    this.hash.update(slice);
    if (this.keep && this.firstBytes.length === 0 && !startsAsJson(slice[0])) {
      this.kept -= this.bodySize;
      this.keep = undefined;
    }
    if (this.firstBytes.length < 2) for (const byte of slice.subarray(0, 2 - this.firstBytes.length)) this.firstBytes.push(byte);
    if (this.keep) this.keep.push(Buffer.from(slice));
  }

  private finishBody(): void {
    const size = this.bodySize;
    if (this.state === 'meta') this.applyMeta();
    else if (this.entry && this.hash) {
      this.entry.digest = `sha256:${this.hash.digest('hex')}`;
      this.entry.gzip = this.firstBytes[0] === 0x1f && this.firstBytes[1] === 0x8b;
      if (this.keep) this.entry.content = Buffer.concat(this.keep);
      this.hash = undefined;
      this.keep = undefined;
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    this.remaining = pad;
    this.state = pad === 0 ? 'header' : 'padding';
  }

  private applyMeta(): void {
    const meta = this.meta;
    this.meta = undefined;
    if (!meta) return;
    const data = Buffer.concat(meta.chunks);
    if (meta.type === 'L') this.gnuLongName = cString(data);
    else if (meta.type === 'K') this.gnuLongLink = cString(data);
    else if (meta.type === 'x') this.pax = parsePax(data);
    else this.globalPax = { ...this.globalPax, ...parsePax(data) };
  }

}

function cString(field: Buffer): string {
  return cStringBytes(field).toString('utf8');
}

function normalizeName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function entryType(typeflag: string): TarEntryInfo['type'] {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

/** PAX records as text. */
function parsePax(data: Buffer): Record<string, string> {
  return Object.fromEntries(parsePaxRecords(data).map(([key, value]) => [key, value.toString('utf8')]));
}

// ---------------------------------------------------------------------------------------------
// Checking an image archive against the inventory

interface ManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

export interface CheckOptions {
  /** Also compare each uncompressed layer's digest with the config's diff_ids (default true). */
  deep?: boolean;
}

/**
 * Problems of an archive meant to hold exactly `image` with exactly its tags; empty when it
 * does. Each problem is a sentence for the operator.
 */
export function checkImageArchive(index: TarIndex, image: ImageRecord, options: CheckOptions = {}): string[] {
  const deep = options.deep ?? true;
  const problems: string[] = [];
  const manifestEntry = index.entries.get('manifest.json');
  if (!manifestEntry?.content) return ['the archive has no manifest.json'];
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestEntry.content.toString('utf8'));
  } catch {
    return ['manifest.json is not valid JSON'];
  }
  if (!Array.isArray(manifest)) return ['manifest.json is not a list of images'];

  const expectedTags = new Set(image.tags.filter(isRealTag).map(familiarRef));
  let found = false;
  for (const raw of manifest as ManifestEntry[]) {
    const configPath = typeof raw?.Config === 'string' ? raw.Config : undefined;
    const config = configPath !== undefined ? resolveFile(index, configPath) : undefined;
    const repoTags = Array.isArray(raw?.RepoTags) ? raw.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    if (!config?.digest) {
      problems.push(`manifest.json names a config ${JSON.stringify(configPath)} that is not in the archive`);
      continue;
    }
    if (config.digest !== image.id) {
      const tags = repoTags.length > 0 ? `tags ${repoTags.join(', ')} now point to` : 'it holds';
      problems.push(`${tags} image ${config.digest}, not ${image.id} (changed since the inventory)`);
      continue;
    }
    found = true;
    const actual = new Set(repoTags.map(familiarRef));
    for (const tag of expectedTags) if (!actual.has(tag)) problems.push(`tag ${tag} is missing from the archive`);
    for (const tag of actual) if (!expectedTags.has(tag)) problems.push(`the archive has tag ${tag}, which the inventory does not list`);
    problems.push(...checkLayers(index, raw, config, deep));
  }
  if (!found && problems.length === 0) problems.push(`the archive does not hold image ${image.id}`);
  problems.push(...checkRepositories(index, expectedTags));
  return problems;
}

function checkLayers(index: TarIndex, raw: ManifestEntry, config: TarEntryInfo, deep: boolean): string[] {
  const layers = Array.isArray(raw.Layers) ? raw.Layers : undefined;
  if (!layers || !layers.every((l): l is string => typeof l === 'string')) return ['manifest.json has no list of layers'];
  const problems: string[] = [];
  const entries = layers.map((layer) => ({ layer, entry: resolveFile(index, layer) }));
  for (const { layer, entry } of entries) if (!entry) problems.push(`layer ${layer} is missing from the archive`);
  if (!config.content) return problems; // too large to keep: the digest check above still holds
  let diffIds: unknown;
  try {
    diffIds = (JSON.parse(config.content.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
  } catch {
    return [...problems, 'the image config is not valid JSON'];
  }
  if (!Array.isArray(diffIds)) return [...problems, 'the image config has no rootfs.diff_ids'];
  if (diffIds.length !== layers.length) {
    return [...problems, `manifest.json lists ${layers.length} layers but the image config has ${diffIds.length}`];
  }
  if (!deep) return problems;
  entries.forEach(({ layer, entry }, i) => {
    if (entry?.digest && !entry.gzip && entry.digest !== diffIds[i]) {
      problems.push(`layer ${layer} has digest ${entry.digest}, but the image config expects ${String(diffIds[i])}`);
    }
  });
  return problems;
}

/** The legacy `repositories` file, when present, must list the same tags. */
function checkRepositories(index: TarIndex, expectedTags: Set<string>): string[] {
  const entry = index.entries.get('repositories');
  if (!entry?.content) return [];
  let repositories: unknown;
  try {
    repositories = JSON.parse(entry.content.toString('utf8'));
  } catch {
    return ['the repositories file is not valid JSON'];
  }
  if (!repositories || typeof repositories !== 'object') return ['the repositories file is not a JSON object'];
  const listed = new Set<string>();
  for (const [repo, tags] of Object.entries(repositories as Record<string, unknown>)) {
    if (tags && typeof tags === 'object') for (const tag of Object.keys(tags)) listed.add(familiarRef(`${repo}:${tag}`));
  }
  const problems: string[] = [];
  for (const tag of expectedTags) if (!listed.has(tag)) problems.push(`tag ${tag} is missing from the repositories file`);
  for (const tag of listed) if (!expectedTags.has(tag)) problems.push(`the repositories file has tag ${tag}, which the inventory does not list`);
  return problems;
}

/** The regular file an archive path names, following symlinks and hard links (docker save links repeated layers). */
function resolveFile(index: TarIndex, name: string): TarEntryInfo | undefined {
  let current = normalizeName(path.posix.normalize(name));
  for (let hops = 0; hops < 16; hops++) {
    const entry = index.entries.get(current);
    if (!entry) return undefined;
    if (entry.type === 'file') return entry;
    if (entry.type === 'hardlink' && entry.linkname !== undefined) current = normalizeName(path.posix.normalize(entry.linkname));
    else if (entry.type === 'symlink' && entry.linkname !== undefined) {
      current = normalizeName(path.posix.normalize(path.posix.join(path.posix.dirname(current), entry.linkname)));
    } else return undefined;
  }
  return undefined;
}

/** "<none>:<none>" and "<none>@<none>" are how the API shows an untagged image, not tags. */
export function isRealTag(tag: string): boolean {
  return !tag.includes('<none>');
}

// ---------------------------------------------------------------------------------------------
// Reading an archive back

export interface ArchiveDigest {
  /** "sha256:<hex>" of the whole archive file. */
  sha256: string;
  bytes: number;
}

export type ArchiveInspection = ({ ok: true } & ArchiveDigest) | { ok: false; problems: string[]; sha256?: string; bytes?: number };

export interface InspectOptions extends CheckOptions {
  /** The archive must have this digest (recorded when it was saved). */
  expectedSha256?: string;
  signal?: AbortSignal;
  /** Called with the bytes read so far. */
  onProgress?(bytes: number): void;
}

/** Reads an archive once, hashing it and checking it against `image`; never throws for a bad archive. */
export async function inspectImageArchive(file: string, image: ImageRecord, options: InspectOptions = {}): Promise<ArchiveInspection> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return { ok: false, problems: [`${file} is not a regular file`] };
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, problems: [`${file} does not exist`] };
    throw error;
  }
  const hash = createHash('sha256');
  const scanner = new TarScanner();
  let bytes = 0;
  let formatProblem: string | undefined;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  // Node 16's types lack createReadStream's signal option; addAbortSignal is the typed way.
  if (options.signal) addAbortSignal(options.signal, stream);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (formatProblem === undefined) {
      try {
        scanner.write(chunk);
      } catch (error) {
        if (!(error instanceof TarFormatError)) throw error;
        formatProblem = error.message;
      }
    }
    options.onProgress?.(bytes);
  }
  const sha256 = `sha256:${hash.digest('hex')}`;
  const problems: string[] = [];
  if (bytes !== size) problems.push(`the file changed while it was read (${size} bytes, then ${bytes})`);
  if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256) {
    problems.push(`its sha256 is ${sha256}, not the recorded ${options.expectedSha256}`);
  }
  if (formatProblem !== undefined) problems.push(formatProblem);
  else {
    try {
      problems.push(...checkImageArchive(scanner.end(), image, options));
    } catch (error) {
      if (!(error instanceof TarFormatError)) throw error;
      problems.push(error.message);
    }
  }
  return problems.length === 0 ? { ok: true, sha256, bytes } : { ok: false, problems, sha256, bytes };
}

/**
 * The digest and size of an existing archive that holds exactly `image` (and, when given, has
 * the recorded digest); undefined when it is missing or does not check out. For resume: an
 * image whose archive verifies is not saved again.
 */
export async function verifyImageArchive(
  file: string,
  image: ImageRecord,
  options: InspectOptions = {},
): Promise<ArchiveDigest | undefined> {
  const result = await inspectImageArchive(file, image, options);
  return result.ok ? { sha256: result.sha256, bytes: result.bytes } : undefined;
}
