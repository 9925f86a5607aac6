// Space on a big host: 30 images of 1.2 GB sharing a 1.0 GB base add up to 36 GB, but a driver
// stores 7 GB of layers. The new data-root and a new pool need the layers; the image archives
// (one per image, each with every layer of its image) need the sum.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskUsageOf } from '../../../src/docker/inventory.js';
import type { Inventory } from '../../../src/docker/types.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { container, find, GB, hostFacts, image, keys, makeFacts, MB, volume } from './helpers.js';

interface DfFixture {
  Images: { Id: string; RepoTags: string[]; Size: number; SharedSize: number }[];
  Containers: { Id: string; Names: string[]; ImageID: string; SizeRw: number }[];
}
const DF_JSON = JSON.parse(readFileSync(path.resolve('test/fixtures/docker/system-df-shared-base.json'), 'utf8')) as DfFixture;

/** The inventory the fixture's host gives (what collectInventory builds from it). */
function bigHost(): Partial<Inventory> {
  const usage = diskUsageOf(DF_JSON as never);
  return {
    images: DF_JSON.Images.map((i) => image({ id: i.Id, tags: i.RepoTags, size: i.Size, sharedSize: usage.sharedSizes.get(i.Id) })),
    containers: DF_JSON.Containers.map((c) => container({ id: c.Id, name: c.Names[0]!.slice(1), imageId: c.ImageID, sizeRw: usage.containers.get(c.Id)! })),
    volumes: [volume({ size: 2 * GB })],
    layersSize: usage.layersSize,
  };
}

/** The data-root on its own 20 GB-free filesystem, the archives on a roomy other one. */
function separateDisks() {
  const base = hostFacts();
  return {
    dataRoot: { ...base.dataRoot, space: { ...base.dataRoot.space!, availableBytes: 20 * GB } },
    backupDirectory: {
      ...base.backupDirectory,
      mount: { device: '/dev/sdz1', mountPoint: '/backup', fsType: 'xfs', options: ['rw'] },
      device: 1,
      space: { ...base.backupDirectory.space!, availableBytes: 100 * GB },
    },
  };
}

describe('space estimates by unique layers', () => {
  it('the new data-root needs the layers once, not the sum of image sizes', () => {
    const entries = preflightChecks(makeFacts({ inventory: bigHost(), host: separateDisks() }));
    const e = find(entries, 'space-estimate')!;
    expect(e.details?.estimate).toMatchObject({
      imagesBytes: 36 * GB,
      layersBytes: 7 * GB,
      writableBytes: 300 * MB,
      // Layers, writable layers, the volume, and two 1.2 GB archives unpacked at once while they load.
      loadScratchBytes: 2.4 * GB,
      dataRootBytes: 11.7 * GB,
      // Archives: one per image, each with its own copy of the base.
      backupBytes: 38.3 * GB,
      fallbacks: [],
    });
    expect(e.title).toBe('Space needed: 38 GB for archives, 12 GB in the new data-root');
    expect(e.summary).toContain('7.0 GB of layers in a driver (a shared layer once)');
    expect(keys(entries)).not.toContain('data-root-space-insufficient');
  });

  it('still blocks when even the layers do not fit', () => {
    const host = separateDisks();
    host.dataRoot.space.availableBytes = 8 * GB;
    expect(find(preflightChecks(makeFacts({ inventory: bigHost(), host })), 'data-root-space-insufficient')?.severity).toBe('blocker');
  });

  it('a new direct-lvm pool is measured against the layers too', () => {
    const disk = { path: '/dev/sdc', resolvedPath: '/dev/sdc', exists: true, isBlockDevice: true, mountedAt: [], signatures: [], lsblk: { name: '/dev/sdc', type: 'disk', sizeBytes: 20 * GB, children: [] } };
    const entries = preflightChecks(makeFacts({ inventory: bigHost(), host: { ...separateDisks(), targetDevice: disk } }), { target: 'direct-lvm', device: '/dev/sdc' });
    expect(keys(entries)).not.toContain('target-device-too-small');
  });
});
