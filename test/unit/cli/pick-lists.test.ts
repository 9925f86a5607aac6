import { describe, expect, it } from 'vitest';
import { pickLists } from '../../../src/cli/commands/run.js';
import type { Inventory } from '../../../src/docker/types.js';
import { selectInventory } from '../../../src/plan/select.js';

const UNTAGGED = `sha256:${'b'.repeat(64)}`;
const inventory = {
  images: [
    { id: `sha256:${'a'.repeat(64)}`, tags: ['app/web:1.0', 'app/web:latest'], size: 212_000_000 },
    { id: UNTAGGED, tags: [], size: 5_000_000 },
  ],
  containers: [
    { name: 'web', image: 'app/web:1.0', imageId: `sha256:${'a'.repeat(64)}`, state: 'running', mounts: [] },
    { name: 'batch', image: 'app/batch:2', imageId: `sha256:${'c'.repeat(64)}`, state: 'exited', mounts: [] },
  ],
  volumes: [
    { name: 'dbdata', size: 1_200_000_000 },
    { name: 'cache', size: -1 }, // size unknown (the daemon did not measure it)
  ],
  networks: [],
} as unknown as Inventory;

describe('the pick lists of the run wizard', () => {
  it('offers one item per image (first tag, else the ID), container and volume, with what tells them apart', () => {
    expect(pickLists(inventory)).toEqual({
      images: [
        { value: 'app/web:1.0', label: 'app/web:1.0, app/web:latest (212 MB)' },
        { value: UNTAGGED, label: '<untagged> bbbbbbbbbbbb (5.0 MB)' },
      ],
      containers: [
        { value: 'web', label: 'web (app/web:1.0, running)' },
        { value: 'batch', label: 'batch (app/batch:2, exited)' },
      ],
      volumes: [
        { value: 'dbdata', label: 'dbdata (1.2 GB)' },
        { value: 'cache', label: 'cache' },
      ],
    });
  });

  // A deselected item becomes an exclude name: it must leave out exactly that item.
  it('gives values that, excluded, leave out exactly their own item', () => {
    const lists = pickLists(inventory);
    const all = { include: [], exclude: [] };
    for (const [index, item] of lists.images.entries()) {
      const selection = selectInventory(inventory, { images: { include: [], exclude: [item.value] }, containers: { include: [], exclude: ['web'] }, volumes: all });
      expect(selection.images.map((i) => i.id)).toEqual(inventory.images.filter((_, i) => i !== index).map((i) => i.id));
    }
    for (const item of lists.containers) {
      const selection = selectInventory(inventory, { images: all, containers: { include: [], exclude: [item.value] }, volumes: all });
      expect(selection.containers.map((c) => c.name)).toEqual(inventory.containers.map((c) => c.name).filter((name) => name !== item.value));
    }
    for (const item of lists.volumes) {
      const selection = selectInventory(inventory, { images: all, containers: all, volumes: { include: [], exclude: [item.value] } });
      expect(selection.volumes.map((v) => v.name)).toEqual(inventory.volumes.map((v) => v.name).filter((name) => name !== item.value));
    }
  });
});
