// The staged data-root of pre-staging (src/host/staged-root.ts) on a real tree under a temporary
// root, through the real Host: placed by rename (the same inodes), back again, and removed.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../../src/host/node-host.js';
import { dropSideDaemonState, placeStagedRoot, planStagedPlacement, prepareStagedRoot, removeStagedRoot, unplaceStagedRoot } from '../../../src/host/staged-root.js';

let root: string;
let host: NodeHost;
const real = (hostPath: string) => join(root, hostPath);
const ino = (hostPath: string) => statSync(real(hostPath)).ino;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dmm-staged-root-'));
  host = new NodeHost(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A staged root as the private dockerd leaves it once stopped. */
function makeStaged(dir: string): void {
  for (const sub of ['image/overlay2', 'overlay2/l', 'volumes', 'network/files']) mkdirSync(real(`${dir}/${sub}`), { recursive: true });
  writeFileSync(real(`${dir}/overlay2/l/layer`), 'bytes');
  writeFileSync(real(`${dir}/volumes/metadata.db`), '');
  writeFileSync(real(`${dir}/network/files/local-kv.db`), '');
}

describe('the staged data-root', () => {
  it('is made before the private dockerd, with the mode of the data-root it will replace', async () => {
    mkdirSync(real('/var/lib/docker'), { recursive: true, mode: 0o701 });
    chmodSync(real('/var/lib/docker'), 0o701);
    await prepareStagedRoot(host, { stagedRoot: '/var/lib/docker.r1-staged', dataRoot: '/var/lib/docker' });
    await prepareStagedRoot(host, { stagedRoot: '/var/lib/docker.r1-staged', dataRoot: '/var/lib/docker' });
    expect(statSync(real('/var/lib/docker.r1-staged')).mode & 0o7777).toBe(0o701);
  });

  it('loses the private daemon’s volume and network stores, keeps its images', async () => {
    makeStaged('/var/lib/docker.r1-staged');
    await dropSideDaemonState(host, '/var/lib/docker.r1-staged');
    expect(readdirSync(real('/var/lib/docker.r1-staged')).sort()).toEqual(['image', 'overlay2']);
  });

  it('is renamed into place where the data-root was moved aside, and back (idempotent both ways)', async () => {
    makeStaged('/var/lib/docker.r1-staged');
    const layer = ino('/var/lib/docker.r1-staged/overlay2/l/layer');
    const placement = await planStagedPlacement(host, { from: '/var/lib/docker.r1-staged', to: '/var/lib/docker' });
    expect(placement.method).toBe('rename');
    await placeStagedRoot(host, placement);
    await placeStagedRoot(host, placement);
    expect(ino('/var/lib/docker/overlay2/l/layer')).toBe(layer);
    await unplaceStagedRoot(host, placement);
    await unplaceStagedRoot(host, placement);
    expect(ino('/var/lib/docker.r1-staged/overlay2/l/layer')).toBe(layer);
    expect(readdirSync(real('/var/lib'))).toEqual(['docker.r1-staged']);
  });

  it('moves its entries into a data-root that stays (a mount point), leaving what was there, and back', async () => {
    mkdirSync(real('/var/lib/docker/lost+found'), { recursive: true });
    mkdirSync(real('/var/lib/docker/.devmapper-migrate-r1'));
    makeStaged('/var/lib/docker/.devmapper-migrate-r1-staged');
    const placement = await planStagedPlacement(host, { from: '/var/lib/docker/.devmapper-migrate-r1-staged', to: '/var/lib/docker' });
    expect(placement).toMatchObject({ method: 'entries', entries: expect.arrayContaining(['image', 'overlay2']) as unknown });
    await placeStagedRoot(host, placement);
    await placeStagedRoot(host, placement);
    expect(readdirSync(real('/var/lib/docker')).sort()).toEqual(['.devmapper-migrate-r1', 'image', 'lost+found', 'network', 'overlay2', 'volumes']);
    await unplaceStagedRoot(host, placement);
    expect(readdirSync(real('/var/lib/docker')).sort()).toEqual(['.devmapper-migrate-r1', '.devmapper-migrate-r1-staged', 'lost+found']);
    await removeStagedRoot(host, { stagedRoot: '/var/lib/docker/.devmapper-migrate-r1-staged', runtimeDir: '/run/devmapper-migrate/r1' });
    expect(readdirSync(real('/var/lib/docker')).sort()).toEqual(['.devmapper-migrate-r1', 'lost+found']);
  });

  it('is removed with its runtime directory, and the runtime base with its last directory', async () => {
    makeStaged('/var/lib/docker.r1-staged');
    mkdirSync(real('/run/devmapper-migrate/r1/staging/exec'), { recursive: true });
    await removeStagedRoot(host, { stagedRoot: '/var/lib/docker.r1-staged', runtimeDir: '/run/devmapper-migrate/r1' });
    await removeStagedRoot(host, { stagedRoot: '/var/lib/docker.r1-staged', runtimeDir: '/run/devmapper-migrate/r1' });
    expect(readdirSync(real('/var/lib'))).toEqual([]);
    expect(readdirSync(real('/run'))).toEqual([]);
  });
});
