/**
 * The doors to the Docker daemon: one interface per area (images, containers, volumes,
 * networks, the daemon itself), in our own types. Everything outside src/docker talks to
 * Docker through these and never sees dockerode or the raw client (`client.ts` is off limits
 * outside src/docker, a lint rule), so steps can be unit-tested against in-memory fakes.
 */
import type { RegistryAuth } from '../config/registry-auth.js';
import type { DaemonRegistryConfig } from '../config/registry-transport.js';
import { connectDocker, type ConnectOptions, type DockerClient } from './client.js';
import {
  inspectContainers,
  recreateContainer,
  startContainers,
  stopContainers, pausedContainers, unpauseContainers, pauseContainers,
  type ContainerInspect,
  type RecreateOptions,
  type StartResult,
  type StopResult,
} from './containers.js';
import {
  imageIdOf,
  listImageTags,
  loadImageArchive,
  pullImage,
  pushImage,
  removeHolds,
  removeTemporaryTag,
  saveImage,
  tagImage,
  type LoadOptions,
  type PullOptions,
  type PushRequest,
  type PushResult,
  type SavedArchive,
  type SaveOptions,
} from './images.js';
import { collectInventory, readDaemonFacts } from './inventory.js';
import { createNetwork } from './networks.js';
import { daemonRegistryConfig } from './registry.js';
import type { DaemonFacts, ImageRecord, Inventory, NetworkRecord, VolumeRecord } from './types.js';
import { createVolume } from './volumes.js';
import { captureWritableLayer, restoreWritableLayer, type LayerCapture } from './writable-layer.js';

export type { ContainerInspect, RecreateOptions, StartResult, StopResult } from './containers.js';
export type { LoadOptions, PullOptions, PushRequest, PushResult, SavedArchive, SaveOptions } from './images.js';
export type { LayerCapture } from './writable-layer.js';

export interface ImageDoor {
  /** Every image ID on the daemon with its tags; an untagged image maps to []. */
  tags(): Promise<Map<string, string[]>>;
  /** The image ID a reference names, or undefined when there is none. */
  idOf(ref: string): Promise<string | undefined>;
  /** Puts `repoTag` on the image (moves it if it pointed elsewhere). */
  tag(imageId: string, repoTag: string): Promise<void>;
  /** Saves the image into a verified archive at destPath (see saveImage). */
  save(image: ImageRecord, destPath: string, options?: SaveOptions): Promise<SavedArchive>;
  /** Loads an archive; compare `tags()` afterwards, the load's own words are no proof. */
  load(file: string, options?: LoadOptions): Promise<void>;
  /** Tags, pushes and untags again (see pushImage). */
  push(request: PushRequest): Promise<PushResult>;
  pull(ref: string, auth: RegistryAuth | undefined, options?: PullOptions): Promise<{ id: string; digest?: string }>;
  /** Removes a tag the tool added, keeping the image also when it was its only name. */
  removeTemporaryTag(imageId: string, ref: string): Promise<void>;
  /** Removes the holds a killed run left: of one image, or of all when none is named. */
  removeHolds(imageId?: string): Promise<void>;
}

export interface ContainerDoor {
  /** The full inspect of each container, in the order given. */
  inspect(ids: readonly string[]): Promise<ContainerInspect[]>;
  /** Names of the running (and restarting, paused) containers. */
  runningNames(): Promise<string[]>;
  /** Creates the container again from its recorded inspect, or finds it from an earlier attempt; returns its ID. */
  recreate(inspect: ContainerInspect, options?: RecreateOptions): Promise<string>;
  start(names: readonly string[]): Promise<Record<string, StartResult>>;
  /** Stops wave after wave, each wave at once. */
  stop(waves: readonly (readonly string[])[], timeoutSeconds?: number): Promise<Record<string, StopResult>>;
  /** The ones among `names` that are paused now (one that is gone is not). */
  paused(names: readonly string[]): Promise<string[]>;
  /** Unpauses those of `names` still paused (engines before 17.07 refuse to stop a paused container). */
  unpause(names: readonly string[]): Promise<void>;
  /** Pauses again those of `names` that run and are not paused; returns the ones that could not be, with the daemon's words. */
  pause(names: readonly string[]): Promise<string[]>;
  /** Keeps the writable layer of a stopped container in one tar at destPath. */
  captureWritableLayer(containerId: string, destPath: string): Promise<LayerCapture>;
  /** Puts a captured layer back into a created, not yet started container. */
  restoreWritableLayer(containerId: string, archivePath: string): Promise<void>;
}

export interface VolumeDoor {
  /** Creates the volume as recorded, or accepts an identical one; returns its name. */
  create(record: VolumeRecord): Promise<string>;
}

export interface NetworkDoor {
  /** Creates the network as recorded, or accepts an identical one; returns its ID. */
  create(record: NetworkRecord): Promise<string>;
}

export interface SystemDoor {
  /** Version, storage driver and the other facts preflight reasons about. */
  facts(): Promise<DaemonFacts>;
  /** Images, containers, volumes and user-defined networks, as recorded. */
  inventory(): Promise<Inventory>;
  /** The daemon's insecure-registry settings. */
  registryConfig(): Promise<DaemonRegistryConfig>;
}

export interface DockerDoors {
  /** The address as the operator gave it (for messages). */
  readonly address: string;
  readonly images: ImageDoor;
  readonly containers: ContainerDoor;
  readonly volumes: VolumeDoor;
  readonly networks: NetworkDoor;
  readonly system: SystemDoor;
}

/** The doors over one connected client. */
export function doorsOver(client: DockerClient): DockerDoors {
  const { api } = client;
  return {
    address: client.address,
    images: {
      tags: () => listImageTags(client),
      idOf: (ref) => imageIdOf(client, ref),
      tag: (imageId, repoTag) => tagImage(client, imageId, repoTag),
      save: (image, destPath, options) => saveImage(client, image, destPath, options),
      load: (file, options) => loadImageArchive(client, file, options),
      push: (request) => pushImage(client, request),
      pull: (ref, auth, options) => pullImage(client, ref, auth, options),
      removeTemporaryTag: (imageId, ref) => removeTemporaryTag(client, imageId, ref),
      removeHolds: (imageId) => removeHolds(client, imageId),
    },
    containers: {
      inspect: (ids) => inspectContainers(api, ids),
      // Without all: running, restarting and paused ones.
      runningNames: async () => (await api.listContainers()).map((c) => (c.Names?.[0] ?? '').replace(/^\//, '')),
      recreate: (inspect, options) => recreateContainer(api, inspect, options),
      start: (names) => startContainers(api, names),
      stop: (waves, timeoutSeconds) => stopContainers(api, waves, timeoutSeconds),
      paused: (names) => pausedContainers(api, names),
      unpause: (names) => unpauseContainers(api, names),
      pause: (names) => pauseContainers(api, names),
      captureWritableLayer: (containerId, destPath) => captureWritableLayer(api, containerId, destPath),
      restoreWritableLayer: (containerId, archivePath) => restoreWritableLayer(api, containerId, archivePath),
    },
    volumes: { create: (record) => createVolume(api, record) },
    networks: { create: (record) => createNetwork(api, record) },
    system: {
      facts: () => readDaemonFacts(client),
      inventory: () => collectInventory(client),
      registryConfig: () => daemonRegistryConfig(client),
    },
  };
}

/** Connects to the daemon at dockerHost (it must answer /_ping) and hands out its doors. */
export async function openDockerDoors(dockerHost: string, options: ConnectOptions = {}): Promise<DockerDoors> {
  return doorsOver(await connectDocker(dockerHost, options));
}
