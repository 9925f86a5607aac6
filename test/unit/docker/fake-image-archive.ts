/**
 * Builds archives shaped like `docker save` output (Docker 20.10's legacy layout) without a
 * daemon: config named by its digest, manifest.json, repositories, one layer.tar per layer.
 */
import { createHash } from 'node:crypto';
import { pack as createPack, type Header } from 'tar-stream';
import type { ImageRecord } from '../../../src/docker/types.js';

export interface FakeImageOptions {
  tags: string[];
  /** Layer contents (any bytes: the checks hash them, they do not untar them). */
  layers?: Buffer[];
  /** Write the second layer as a symlink to the first, as docker save does for a repeated layer. */
  symlinkRepeatedLayer?: boolean;
  /** Tags written into manifest.json and repositories instead of `tags`. */
  archiveTags?: string[];
  /** Change the bytes of layer i after the config was computed. */
  corruptLayer?: number;
  /** Leave out manifest.json / repositories. */
  noManifest?: boolean;
  noRepositories?: boolean;
  /** Add one more manifest entry for another image with these tags (a moved tag). */
  otherImageTags?: string[];
}

export interface FakeImage {
  archive: Buffer;
  image: ImageRecord;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function fakeImageArchive(options: FakeImageOptions): Promise<FakeImage> {
  const layers = options.layers ?? [Buffer.from('layer one '.repeat(300)), Buffer.from('layer two '.repeat(90))];
  const diffIds = layers.map((l) => sha256(l));
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } });
  const id = sha256(config);
  const hex = id.slice('sha256:'.length);
  const pack = createPack();
  const entry = (header: Partial<Header> & { name: string }, body?: Buffer | string): void => {
    if (body === undefined) pack.entry({ mtime: new Date(0), ...header });
    else pack.entry({ mtime: new Date(0), ...header }, body);
  };
  const layerPaths: string[] = [];
  layers.forEach((layer, i) => {
    const dir = createHash('sha256').update(`v1-${i}-${hex}`).digest('hex');
    layerPaths.push(`${dir}/layer.tar`);
    entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
    entry({ name: `${dir}/VERSION`, mode: 0o644 }, '1.0');
    entry({ name: `${dir}/json`, mode: 0o644 }, JSON.stringify({ id: dir }));
    if (options.symlinkRepeatedLayer && i === 1) {
      entry({ name: `${dir}/layer.tar`, type: 'symlink', linkname: `../${layerPaths[0]}` });
      return;
    }
    const body = options.corruptLayer === i ? Buffer.concat([layer, Buffer.from('x')]) : layer;
    entry({ name: `${dir}/layer.tar`, mode: 0o644 }, body);
  });
  entry({ name: `${hex}.json`, mode: 0o644 }, config);
  const archiveTags = options.archiveTags ?? options.tags;
  const manifest: object[] = [{ Config: `${hex}.json`, RepoTags: archiveTags.length > 0 ? archiveTags : null, Layers: layerPaths }];
  if (options.otherImageTags) {
    const otherConfig = JSON.stringify({ rootfs: { type: 'layers', diff_ids: [diffIds[0]] } });
    const otherHex = sha256(otherConfig).slice('sha256:'.length);
    entry({ name: `${otherHex}.json`, mode: 0o644 }, otherConfig);
    manifest.push({ Config: `${otherHex}.json`, RepoTags: options.otherImageTags, Layers: [layerPaths[0]] });
  }
  if (!options.noManifest) entry({ name: 'manifest.json', mode: 0o644 }, JSON.stringify(manifest));
  if (!options.noRepositories && archiveTags.length > 0) {
    const repositories: Record<string, Record<string, string>> = {};
    for (const tag of archiveTags) {
      const colon = tag.lastIndexOf(':');
      (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = 'top';
    }
    entry({ name: 'repositories', mode: 0o644 }, JSON.stringify(repositories));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return {
    archive: Buffer.concat(chunks),
    image: { id, tags: options.tags, repoDigests: [], size: layers.reduce((n, l) => n + l.length, 0), created: '', dangling: options.tags.length === 0 },
  };
}

/** A raw ustar/GNU header block, for the shapes tar-stream does not write (GNU long names). */
export function rawHeader(name: string, size: number, typeflag: string, options: { gnu?: boolean } = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(typeflag, 156, 'latin1');
  if (options.gnu) h.write('ustar  \0', 257, 'latin1');
  else h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** Data padded to a whole number of blocks. */
export function padded(data: Buffer): Buffer {
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(pad)]);
}
