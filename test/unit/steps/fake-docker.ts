/**
 * An in-memory Docker daemon behind the doors (src/docker/doors.ts), for unit tests of the
 * steps: images with tags, containers that run or not, volumes, networks and a registry. It
 * keeps to the doors' promises (stop of a stopped container is 'already-stopped', recreate
 * finds the container an earlier attempt made, ...) and records every call that changes
 * something, in order, so a test can say what a step asked the daemon to do.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type {
  ContainerDoor,
  ContainerInspect,
  DockerDoors,
  ImageDoor,
  LayerCapture,
  NetworkDoor,
  StartResult,
  StopResult,
  SystemDoor,
  VolumeDoor,
} from '../../../src/docker/doors.js';
import type { DaemonFacts, Inventory, NetworkRecord, VolumeRecord } from '../../../src/docker/types.js';
import { UploadDigestMismatch } from '../../../src/docker/images.js';
import { OperatorError } from '../../../src/errors.js';

export interface FakeContainer {
  id: string;
  name: string;
  imageId: string;
  running: boolean;
  /** Frozen (docker pause); it still counts as running. */
  paused?: boolean;
  inspect?: ContainerInspect;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** What each saved archive holds (by the archive's sha256), for a load by any FakeDocker: the daemon after the cutover is another one. */
const savedArchives = new Map<string, { id: string; tags: string[] }>();

export class FakeDocker implements DockerDoors {
  readonly address = 'unix:///fake/docker.sock';
  /** Calls that change the daemon (or write an archive), as "area.call args", in order. */
  readonly calls: string[] = [];
  /** Image ID → its tags. */
  readonly imageTags = new Map<string, string[]>();
  readonly containerList: FakeContainer[] = [];
  readonly volumeList = new Map<string, VolumeRecord>();
  readonly networkList = new Map<string, NetworkRecord>();
  /** What the registry holds: reference → image ID. */
  readonly registry = new Map<string, string>();
  /** A call (e.g. "images.save") that throws the given error, once per entry. */
  readonly failures = new Map<string, Error>();
  /** Image ID → the bytes `images.save` writes (e.g. a fakeImageArchive, so the archive verifies); else a small stand-in. */
  readonly archiveOf = new Map<string, Buffer>();
  /** The inventory `system.inventory()` answers; by default built from the state above. */
  inventoryNow?: Inventory;
  facts: DaemonFacts = {
    serverVersion: '24.0.7',
    apiVersion: '1.43',
    driver: 'overlay2',
    driverStatus: [],
    dockerRootDir: '/var/lib/docker',
    liveRestore: false,
    swarmState: 'inactive',
    kernelVersion: '6.1.0',
    operatingSystem: 'Debian',
    securityOptions: [],
    containers: { total: 0, running: 0, paused: 0, stopped: 0 },
    images: 0,
  };

  private record(call: string): void {
    this.calls.push(call);
    const area = call.split(' ')[0] as string;
    const failure = this.failures.get(area);
    if (failure) {
      this.failures.delete(area);
      throw failure;
    }
  }

  private idOfRef(ref: string): string | undefined {
    if (this.imageTags.has(ref)) return ref;
    for (const [id, tags] of this.imageTags) if (tags.includes(ref)) return id;
    return undefined;
  }

  container(nameOrId: string): FakeContainer | undefined {
    return this.containerList.find((c) => c.name === nameOrId || c.id === nameOrId);
  }

  private putTag(imageId: string, ref: string): void {
    for (const tags of this.imageTags.values()) if (tags.includes(ref)) tags.splice(tags.indexOf(ref), 1);
    this.imageTags.set(imageId, [...(this.imageTags.get(imageId) ?? []), ref]);
  }

  readonly images: ImageDoor = {
    tags: async () => new Map([...this.imageTags].map(([id, tags]) => [id, [...tags]])),
    idOf: async (ref) => this.idOfRef(ref),
    tag: async (imageId, repoTag) => {
      this.record(`images.tag ${imageId} ${repoTag}`);
      if (!this.imageTags.has(imageId)) throw new OperatorError(`no such image ${imageId}`, 'fake');
      this.putTag(imageId, repoTag);
    },
    save: async (image, destPath) => {
      this.record(`images.save ${image.id}`);
      const tags = this.imageTags.get(image.id) ?? [];
      const content = this.archiveOf.get(image.id) ?? Buffer.from(`archive of ${image.id}`);
      savedArchives.set(sha256(content), { id: image.id, tags: [...tags] });
      await writeFile(destPath, content);
      return { path: destPath, sha256: `sha256:${sha256(content)}`, bytes: content.length };
    },
    load: async (file, options) => {
      this.record(`images.load ${file}`);
      const bytes = await readFile(file);
      // As the real upload: a recorded sha256 that does not match cuts the load off, nothing is loaded.
      const expected = options?.sha256?.replace(/^sha256:/, '');
      if (expected && sha256(bytes) !== expected) throw new UploadDigestMismatch(file, expected, sha256(bytes));
      const saved = savedArchives.get(sha256(bytes));
      if (!saved) throw new OperatorError(`Loading ${file} failed: not an archive a save wrote`, 'fake');
      const { id, tags } = saved;
      this.imageTags.set(id, this.imageTags.get(id) ?? []);
      for (const tag of tags) this.putTag(id, tag);
    },
    push: async (request) => {
      this.record(`images.push ${request.sourceRef} ${request.targetRef}`);
      const imageId = this.idOfRef(request.sourceRef);
      if (!imageId) throw new OperatorError(`no such image ${request.sourceRef}`, 'fake');
      this.registry.set(request.targetRef, imageId);
      return { digest: `sha256:${sha256(request.targetRef)}` };
    },
    pull: async (ref) => {
      this.record(`images.pull ${ref}`);
      const id = this.registry.get(ref);
      if (!id) throw new OperatorError(`the registry has no ${ref}`, 'fake');
      this.imageTags.set(id, this.imageTags.get(id) ?? []);
      this.putTag(id, ref);
      return { id, digest: `sha256:${sha256(ref)}` };
    },
    removeTemporaryTag: async (imageId, ref) => {
      this.record(`images.removeTemporaryTag ${imageId} ${ref}`);
      const tags = this.imageTags.get(imageId) ?? [];
      if (tags.includes(ref)) tags.splice(tags.indexOf(ref), 1);
    },
    removeHolds: async (imageId) => {
      this.record(`images.removeHolds${imageId ? ` ${imageId}` : ''}`);
    },
  };

  readonly containers: ContainerDoor = {
    inspect: async (ids) =>
      ids.map((id) => {
        const inspect = this.container(id)?.inspect;
        if (!inspect) throw new OperatorError(`Container ${id} no longer exists.`, 'fake');
        return inspect;
      }),
    runningNames: async () => this.containerList.filter((c) => c.running).map((c) => c.name),
    recreate: async (inspect) => {
      const name = inspect.Name.replace(/^\//, '');
      const existing = this.container(name);
      if (existing) return existing.id;
      this.record(`containers.recreate ${name}`);
      const id = sha256(`new:${name}`);
      const copy = JSON.parse(JSON.stringify(inspect)) as ContainerInspect;
      copy.Id = id;
      copy.State = { Status: 'created', Running: false };
      this.containerList.push({ id, name, imageId: inspect.Image, running: false, inspect: copy });
      return id;
    },
    start: async (names) => {
      const results: Record<string, StartResult> = {};
      for (const name of names) {
        this.record(`containers.start ${name}`);
        const container = this.container(name);
        if (!container) throw new OperatorError(`Container ${name} did not start: no such container`, 'fake');
        results[name] = container.running ? 'already-running' : 'started';
        container.running = true;
      }
      return results;
    },
    stop: async (waves) => {
      const results: Record<string, StopResult> = {};
      for (const wave of waves) {
        this.record(`containers.stop ${wave.join(',')}`);
        for (const name of wave) {
          const container = this.container(name);
          results[name] = !container ? 'gone' : container.running ? 'stopped' : 'already-stopped';
          if (container) container.running = false;
        }
      }
      return results;
    },
    paused: async (names) => names.filter((name) => this.container(name)?.paused),
    unpause: async (names) => {
      for (const name of names) {
        const container = this.container(name);
        if (!container?.paused) continue;
        this.record(`containers.unpause ${name}`);
        container.paused = false;
      }
    },
    pause: async (names) => {
      for (const name of names) {
        const container = this.container(name);
        if (!container?.running || container.paused) continue;
        this.record(`containers.pause ${name}`);
        container.paused = true;
      }
      return [];
    },
    captureWritableLayer: async (containerId, destPath): Promise<LayerCapture> => {
      this.record(`containers.captureWritableLayer ${containerId}`);
      const content = `layer of ${containerId}`;
      await writeFile(destPath, content);
      return { added: 1, changed: 0, deleted: [], bytes: content.length, sha256: `sha256:${sha256(content)}`, archived: ['/srv'], skipped: [], unreadable: [] };
    },
    restoreWritableLayer: async (containerId, archivePath) => {
      this.record(`containers.restoreWritableLayer ${containerId} ${archivePath}`);
    },
  };

  readonly volumes: VolumeDoor = {
    create: async (record) => {
      if (!this.volumeList.has(record.name)) {
        this.record(`volumes.create ${record.name}`);
        this.volumeList.set(record.name, record);
      }
      return record.name;
    },
  };

  readonly networks: NetworkDoor = {
    create: async (record) => {
      if (!this.networkList.has(record.name)) {
        this.record(`networks.create ${record.name}`);
        this.networkList.set(record.name, record);
      }
      return record.id;
    },
  };

  readonly system: SystemDoor = {
    facts: async () => this.facts,
    inventory: async () => {
      if (this.inventoryNow) return this.inventoryNow;
      throw new Error('FakeDocker: set inventoryNow for system.inventory()');
    },
    registryConfig: async () => ({ insecureRegistryCidrs: [], indexConfigs: {} }),
  };

  /** Calls of one area, e.g. "images.save", without the area. */
  callsOf(prefix: string): string[] {
    return this.calls.filter((c) => c.startsWith(`${prefix} `) || c === prefix).map((c) => c.slice(prefix.length + 1));
  }
}
