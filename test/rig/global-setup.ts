// vitest global setup for the integration tier: packages, a sweep of crashed runs' leftovers,
// one shared daemon (vfs, standing in for devicemapper) with the base image, and a registry
// with auth. Tests read them with inject('rig'); teardown stops everything.
import type { TestProject } from 'vitest/node';
import { startDockerd, type DaemonHandle } from './dockerd.js';
import { BASE_IMAGE, seedBaseImage } from './images.js';
import { ensurePackages } from './packages.js';
import { REPO_ROOT } from './paths.js';
import { startRegistry, type RegistryHandle } from './registry.js';
import type { RigInfo } from './rig-info.js';
import { sweep } from './sweep.js';

export type { RigInfo } from './rig-info.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const installed = await ensurePackages();
  if (installed.length > 0) console.log(`[rig] installed ${installed.join(', ')}`);
  for (const item of await sweep()) console.log(`[rig] cleaned leftover ${item}`);

  let daemon: DaemonHandle | undefined;
  let registry: RegistryHandle | undefined;
  const teardown = async () => {
    const results = await Promise.allSettled([daemon?.stop(), registry?.stop()]);
    for (const result of results) if (result.status === 'rejected') console.error('[rig] teardown:', result.reason);
  };
  try {
    daemon = await startDockerd({ name: 'shared', storageDriver: 'vfs' });
    registry = await startRegistry({ auth: true });
    const baseImageId = await seedBaseImage(daemon);
    const info: RigInfo = {
      daemon: daemon.info(),
      registry: registry.info(),
      baseImage: BASE_IMAGE,
      baseImageId,
      repoRoot: REPO_ROOT,
    };
    project.provide('rig', info);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
