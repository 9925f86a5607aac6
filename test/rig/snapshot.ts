// A host's state as the contract guarantees it, read with the docker CLI and the file system
// (not with the tool's code): what a migration test compares before and after.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInspect } from '../../src/docker/containers.js';
import { normalize } from './container-shape.js';
import type { DaemonInfo } from './dockerd.js';
import { docker } from './images.js';

export interface HostSnapshot {
  driver: string;
  /** Image ID → its sorted tags. */
  images: Record<string, string[]>;
  containers: Record<string, ReturnType<typeof normalize>>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
  /** Volume name → relative path → what the file is. */
  volumeFiles: Record<string, Record<string, unknown>>;
}

const json = <T>(text: string) => JSON.parse(text) as T;

/** Every file under dir: kind, mode, owner, size, content checksum, link target, mtime. */
export function volumeFiles(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (rel: string) => {
    const path = join(dir, rel);
    const st = lstatSync(path);
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
    out[rel || '.'] = {
      kind,
      mode: (st.mode & 0o7777).toString(8),
      owner: `${st.uid}:${st.gid}`,
      mtimeMs: Math.round(st.mtimeMs),
      ...(kind === 'file' && { size: st.size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), links: st.nlink }),
      ...(kind === 'symlink' && { target: readlinkSync(path) }),
    };
    if (kind === 'dir') for (const name of readdirSync(path).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return out;
}

export async function hostSnapshot(daemon: DaemonInfo): Promise<HostSnapshot> {
  const d = (...args: string[]) => docker(daemon, ...args);
  const driver = await d('info', '--format', '{{.Driver}}');
  const images: Record<string, string[]> = {};
  // Not `images -a`: the classic builder's intermediate images are build cache, which neither
  // `docker save` nor the contract carries (FACTS.md); dangling top-level images are listed.
  for (const line of (await d('images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}')).split('\n').filter(Boolean)) {
    const [id, tag] = line.split(' ') as [string, string];
    images[id] ??= [];
    if (tag !== '<none>:<none>') images[id]!.push(tag);
  }
  for (const id of Object.keys(images)) images[id]!.sort();

  const ids = (await d('ps', '-aq', '--no-trunc')).split('\n').filter(Boolean);
  const inspects = ids.length ? json<ContainerInspect[]>(await d('inspect', ...ids)) : [];
  const idToName = new Map(inspects.map((i) => [i.Id, i.Name.replace(/^\//, '')]));
  const containers = Object.fromEntries(inspects.map((i) => [i.Name.replace(/^\//, ''), normalize(i, idToName)]));

  const netNames = (await d('network', 'ls', '--format', '{{.Name}}')).split('\n').filter((n) => n && !['bridge', 'host', 'none'].includes(n));
  const networks = Object.fromEntries(
    (netNames.length ? json<Record<string, unknown>[]>(await d('network', 'inspect', ...netNames)) : []).map((n) => [
      n.Name,
      { driver: n.Driver, options: n.Options, ipam: n.IPAM, internal: n.Internal, attachable: n.Attachable, labels: n.Labels, ipv6: n.EnableIPv6 },
    ]),
  );

  const volNames = (await d('volume', 'ls', '--format', '{{.Name}}')).split('\n').filter(Boolean);
  const volumeList = volNames.length ? json<{ Name: string; Driver: string; Options: unknown; Labels: unknown; Mountpoint: string }[]>(await d('volume', 'inspect', ...volNames)) : [];
  const volumes = Object.fromEntries(volumeList.map((v) => [v.Name, { driver: v.Driver, options: v.Options ?? null, labels: v.Labels ?? null }]));
  const files = Object.fromEntries(volumeList.map((v) => [v.Name, volumeFiles(v.Mountpoint)]));
  return { driver, images, containers, networks, volumes, volumeFiles: files };
}
