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

interface Ipam {
  Driver?: string;
  Options?: unknown;
  Config?: { Subnet?: string; Gateway?: string }[] | null;
}

/**
 * IPAM as Docker defines it: an IPv4 subnet given without a gateway has its first address as
 * the gateway, which dockerd 20.10 shows only after a restart. Filled in here so a snapshot
 * does not change with dockerd's restarts.
 */
function withDefaultGateways(ipam: Ipam | undefined): Ipam | undefined {
  if (!ipam?.Config) return ipam;
  const first = (subnet: string) => {
    const [address, bits] = subnet.split('/');
    const value = address!.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const size = 2 ** (32 - Number(bits));
    const gateway = Math.floor(value / size) * size + 1;
    return [gateway >>> 24, (gateway >>> 16) & 255, (gateway >>> 8) & 255, gateway & 255].join('.');
  };
  return { ...ipam, Config: ipam.Config.map((pool) => (pool.Subnet && !pool.Gateway && !pool.Subnet.includes(':') ? { ...pool, Gateway: first(pool.Subnet) } : pool)) };
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
      { driver: n.Driver, options: n.Options, ipam: withDefaultGateways(n.IPAM as Ipam), internal: n.Internal, attachable: n.Attachable, labels: n.Labels, ipv6: n.EnableIPv6 },
    ]),
  );

  const volNames = (await d('volume', 'ls', '--format', '{{.Name}}')).split('\n').filter(Boolean);
  const volumeList = volNames.length ? json<{ Name: string; Driver: string; Options: unknown; Labels: unknown; Mountpoint: string }[]>(await d('volume', 'inspect', ...volNames)) : [];
  const volumes = Object.fromEntries(volumeList.map((v) => [v.Name, { driver: v.Driver, options: v.Options ?? null, labels: v.Labels ?? null }]));
  // A tmpfs-backed volume's files are fresh at each mount: its definition is all there is to keep (CONTRACT.md).
  const kept = volumeList.filter((v) => (v.Options as Record<string, string> | null)?.type !== 'tmpfs');
  const files = Object.fromEntries(kept.map((v) => [v.Name, volumeFiles(v.Mountpoint)]));
  return { driver, images, containers, networks, volumes, volumeFiles: files };
}
