import type { DaemonInfo } from './dockerd.js';
import type { RegistryInfo } from './registry.js';

/** What the global setup hands to every integration test through inject('rig'). */
export interface RigInfo {
  /** The shared daemon (storage driver vfs, standing in for devicemapper). */
  daemon: DaemonInfo;
  /** A registry with htpasswd auth on 127.0.0.1. */
  registry: RegistryInfo;
  /** The offline base image present on the shared daemon. */
  baseImage: string;
  baseImageId: string;
  repoRoot: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rig: RigInfo;
  }
}
