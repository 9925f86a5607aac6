// The integration test rig: real dockerd and registry instances on private sockets, offline
// images, and cleanup of what crashed runs left behind. See test/rig/global-setup.ts.
export { ensurePackages, RIG_PACKAGES } from './packages.js';
export {
  startDockerd,
  subnetFor,
  teardownDaemonDir,
  readDaemonInfo,
  shellQuote,
  type DaemonHandle,
  type DaemonInfo,
  type DaemonOptions,
} from './dockerd.js';
export { manifestDigestOf, startRegistry, type RegistryHandle, type RegistryInfo, type RegistryOptions } from './registry.js';
export { startRegistryGate, type RegistryGate } from './registry-gate.js';
export {
  BASE_IMAGE,
  baseRootTarball,
  buildImage,
  docker,
  dockerLogin,
  dockerTry,
  dockerWith,
  seedBaseImage,
  type DockerTarget,
} from './images.js';
export { sweep } from './sweep.js';
export { freePort } from './net.js';
export { RIG_DIR, REPO_ROOT, CACHE_DIR, DOCKER_CLIENT, DOCKERD } from './paths.js';
export type { RigInfo } from './rig-info.js';
export { run, runOk, type RunResult } from './proc.js';
export { DIST, ensureDist, rigRuntimeEnv, runCli, TEST_DIST } from './cli.js';
export { createSampleWorkload, type SampleWorkload } from './sample.js';
