/** What a run carries, read back from its recorded inventory (inventory.json). Pure. */
import type { ContainerInspect } from '../docker/create-spec.js';
import type { ContainerRecord, ImageRecord, NetworkRecord, VolumeRecord } from '../docker/types.js';
import type { RecordedInventory } from './run-files.js';

export function selectedImages(recorded: RecordedInventory): ImageRecord[] {
  const ids = new Set(recorded.selection.images);
  return recorded.inventory.images.filter((image) => ids.has(image.id));
}

export function selectedContainers(recorded: RecordedInventory): ContainerRecord[] {
  const names = new Set(recorded.selection.containers);
  return recorded.inventory.containers.filter((container) => names.has(container.name));
}

export function selectedVolumes(recorded: RecordedInventory): VolumeRecord[] {
  const names = new Set(recorded.selection.volumes);
  return recorded.inventory.volumes.filter((volume) => names.has(volume.name));
}

export function selectedNetworks(recorded: RecordedInventory): NetworkRecord[] {
  const names = new Set(recorded.selection.networks);
  return recorded.inventory.networks.filter((network) => names.has(network.name));
}

/** The recorded image of a planned image ID (the plan names it; inventory.json holds what it is). */
export function recordedImage(recorded: RecordedInventory, id: string): ImageRecord {
  const image = recorded.inventory.images.find((i) => i.id === id);
  if (!image) throw new Error(`inventory.json has no image ${id}`);
  return image;
}

/** The recorded container of a planned name. */
export function recordedContainer(recorded: RecordedInventory, name: string): ContainerRecord {
  const container = recorded.inventory.containers.find((c) => c.name === name);
  if (!container) throw new Error(`inventory.json has no container ${name}`);
  return container;
}

/** The recorded volume of a planned name. */
export function recordedVolume(recorded: RecordedInventory, name: string): VolumeRecord {
  const volume = recorded.inventory.volumes.find((v) => v.name === name);
  if (!volume) throw new Error(`inventory.json has no volume ${name}`);
  return volume;
}

/** The recorded inspect of a selected container, by name. */
export function inspectOf(recorded: RecordedInventory, name: string): ContainerInspect {
  const inspect = recorded.inspects.find((i) => i.Name.replace(/^\//, '') === name);
  if (!inspect) throw new Error(`inventory.json has no inspect of container ${name}`);
  return inspect;
}

/** A name for messages: the image's first tag, else its short ID. */
export function imageName(image: Pick<ImageRecord, 'id' | 'tags'>): string {
  return image.tags[0] ?? image.id.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * Running containers the run leaves out that mount one of its local volumes: they must stop
 * with the others, before those volumes are described and archived, or they write to files
 * while they are read. Each with the volumes it mounts.
 */
export function excludedVolumeUsers(containers: readonly ContainerRecord[], selectedNames: readonly string[], volumes: readonly VolumeRecord[]): { name: string; volumes: string[] }[] {
  const carried = new Set(selectedNames);
  const local = new Set(volumes.filter((v) => !v.remote).map((v) => v.name));
  return containers
    .filter((c) => c.running && !carried.has(c.name))
    .map((c) => ({ name: c.name, volumes: [...new Set(c.mounts.filter((m) => m.type === 'volume' && m.name !== undefined && local.has(m.name)).map((m) => m.name as string))] }))
    .filter((user) => user.volumes.length > 0);
}
