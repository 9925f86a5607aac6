import picomatch from 'picomatch';
import type { ContainerRecord, ImageRecord, Inventory, NetworkRecord, VolumeRecord } from '../docker/types.js';

/** include/exclude globs of the answers file (`images`, `containers`, `volumes`). */
export interface Filter {
  include: string[];
  exclude: string[];
}

/** What the run carries, and why anything beyond the operator's globs was added. */
export interface Selection {
  images: ImageRecord[];
  containers: ContainerRecord[];
  volumes: VolumeRecord[];
  networks: NetworkRecord[];
  /** Human-readable reasons, e.g. "image sha256:… kept: container web uses it". */
  notes: string[];
}

function matcher(filter: Filter): (names: string[]) => boolean {
  const include = picomatch(filter.include.length ? filter.include : ['*'], { dot: true });
  const exclude = filter.exclude.length ? picomatch(filter.exclude, { dot: true }) : () => false;
  return (names) => names.some((name) => include(name)) && !names.some((name) => exclude(name));
}

/** The names an image answers to in globs: every repo:tag, and its ID (untagged images have only that). */
function imageNames(image: ImageRecord): string[] {
  return [...image.tags, image.id, image.id.replace(/^sha256:/, '')];
}

/**
 * Applies the answers' globs (pure). What included containers need comes along even when a
 * glob left it out (their image, their volumes, their networks), with a note saying so:
 * a container cannot be recreated without them.
 */
export function selectInventory(
  inventory: Inventory,
  filters: { images: Filter; containers: Filter; volumes: Filter },
): Selection {
  const notes: string[] = [];
  const containers = inventory.containers.filter((c) => matcher(filters.containers)([c.name]));

  const imageWanted = matcher(filters.images);
  const images = inventory.images.filter((image) => {
    if (imageWanted(imageNames(image))) return true;
    const user = containers.find((c) => c.imageId === image.id);
    if (user) notes.push(`image ${image.tags[0] ?? image.id} kept: container ${user.name} uses it`);
    return Boolean(user);
  });

  const volumeWanted = matcher(filters.volumes);
  const volumes = inventory.volumes.filter((volume) => {
    if (volumeWanted([volume.name])) return true;
    const user = containers.find((c) => c.mounts.some((m) => m.type === 'volume' && m.name === volume.name));
    if (user) notes.push(`volume ${volume.name} kept: container ${user.name} mounts it`);
    return Boolean(user);
  });

  // User-defined networks are cheap and other hosts' automation may expect them: keep all.
  const networks = [...inventory.networks];
  return { images, containers, volumes, networks, notes };
}
