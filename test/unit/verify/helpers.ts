// Small hand-made "before" and "after" hosts for the pure comparison of verify.
import type { ContainerInspect } from '../../../src/docker/create-spec.js';
import type { ContainerRecord, Inventory, NetworkRecord, VolumeRecord } from '../../../src/docker/types.js';
import type { RecordedInventory } from '../../../src/record/run-files.js';
import type { ConfigState, CurrentHost } from '../../../src/verify/compare.js';

export const IMAGE_ID = 'sha256:' + 'a'.repeat(64);
export const OTHER_IMAGE_ID = 'sha256:' + 'b'.repeat(64);

/** An inspect of container `name` with ID `id` as Docker 20.10 reports it. */
export function inspect(name: string, id: string, change: (i: ContainerInspect) => void = () => {}): ContainerInspect {
  const result: ContainerInspect = {
    Id: id,
    Name: `/${name}`,
    Image: IMAGE_ID,
    State: { Status: 'running', Running: true },
    Config: {
      Hostname: id.slice(0, 12),
      Image: 'app:1',
      Cmd: ['sleep', '3600'],
      Entrypoint: null,
      Env: ['PATH=/bin', 'SECRET=hunter2'],
      Labels: { tier: 'front', 'com.docker.compose.project': 'demo' },
      WorkingDir: '/srv',
      User: '',
    },
    HostConfig: {
      NetworkMode: 'appnet',
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
      Memory: 67108864,
      MemorySwap: 134217728,
      PidsLimit: null,
      NanoCpus: 0,
    },
    Mounts: [
      { Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true },
      { Type: 'bind', Source: '/etc/app', Destination: '/config', Mode: '', RW: false },
    ],
    NetworkSettings: {
      Networks: {
        appnet: {
          IPAMConfig: { IPv4Address: '10.1.0.10' },
          Aliases: ['web', id.slice(0, 12)],
          NetworkID: 'n'.repeat(64),
          EndpointID: id.slice(0, 8) + 'e'.repeat(56),
          IPAddress: '10.1.0.10',
          MacAddress: '02:42:0a:01:00:0a',
        },
      },
    },
  };
  change(result);
  return result;
}

export function containerRecord(i: ContainerInspect): ContainerRecord {
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ''),
    image: i.Config.Image ?? '',
    imageId: i.Image,
    state: i.State.Status,
    running: i.State.Running,
    autoRemove: false,
    restartPolicy: { name: i.HostConfig.RestartPolicy?.Name ?? 'no', maximumRetryCount: 0 },
    mounts: [],
    networkMode: i.HostConfig.NetworkMode ?? 'default',
    networks: [],
    links: [],
    volumesFrom: [],
    sizeRw: 0,
    labels: { ...(i.Config.Labels ?? {}) },
  };
}

export function network(change: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    id: 'n'.repeat(64),
    name: 'appnet',
    driver: 'bridge',
    scope: 'local',
    internal: false,
    attachable: false,
    enableIPv6: false,
    ipam: { driver: 'default', options: {}, config: [{ subnet: '10.1.0.0/24', gateway: '10.1.0.1' }] },
    options: {},
    labels: { 'net.l': '1' },
    ...change,
  };
}

export function volume(change: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    name: 'data',
    driver: 'local',
    options: {},
    labels: { backup: 'daily' },
    mountpoint: '/var/lib/docker/volumes/data/_data',
    scope: 'local',
    size: 10,
    usedBy: ['web'],
    anonymous: false,
    remote: false,
    ...change,
  };
}

export function inventory(driver: string, inspects: ContainerInspect[], change: Partial<Inventory> = {}): Inventory {
  return {
    capturedAt: '2024-01-01T00:00:00.000Z',
    daemon: {
      serverVersion: '20.10.24',
      apiVersion: '1.41',
      driver,
      driverStatus: [],
      dockerRootDir: '/var/lib/docker',
      liveRestore: false,
      swarmState: 'inactive',
      kernelVersion: '6.1.0',
      operatingSystem: 'Debian',
      securityOptions: [],
      containers: { total: inspects.length, running: 0, paused: 0, stopped: 0 },
      images: 2,
    },
    images: [
      { id: IMAGE_ID, tags: ['app:1', 'app:latest'], repoDigests: [], size: 100, created: '', dangling: false },
      { id: OTHER_IMAGE_ID, tags: [], repoDigests: [], size: 50, created: '', dangling: true },
    ],
    containers: inspects.map(containerRecord),
    volumes: [volume()],
    networks: [network()],
    ...change,
  };
}

const WEB_BEFORE = '1'.repeat(64);
const WEB_AFTER = '2'.repeat(64);
const SIDE_BEFORE = '3'.repeat(64);
const SIDE_AFTER = '4'.repeat(64);

/** A sidecar sharing web's network namespace: NetworkMode names web's ID, which changes with the run. */
function side(id: string, webId: string): ContainerInspect {
  return inspect('side', id, (i) => {
    i.HostConfig.NetworkMode = `container:${webId}`;
    i.NetworkSettings = { Networks: {} };
    i.State = { Status: 'exited', Running: false };
  });
}

/** The recorded inventory of a devicemapper host with web and side. */
export function recorded(): RecordedInventory {
  const inspects = [inspect('web', WEB_BEFORE), side(SIDE_BEFORE, WEB_BEFORE)];
  return {
    inventory: inventory('devicemapper', inspects),
    selection: { images: [IMAGE_ID, OTHER_IMAGE_ID], containers: ['web', 'side'], volumes: ['data'], networks: ['appnet'] },
    inspects,
  };
}

/** The same host after a faithful migration: new container IDs, new endpoint IDs and MACs, overlay2. */
export function migrated(changeWeb: (i: ContainerInspect) => void = () => {}): CurrentHost {
  const web = inspect('web', WEB_AFTER, (i) => {
    const endpoint = i.NetworkSettings!.Networks!.appnet!;
    endpoint.EndpointID = 'f'.repeat(64);
    endpoint.MacAddress = '02:42:0a:01:00:99';
    i.Mounts![0]!.Source = '/var/lib/docker.new/volumes/data/_data';
    changeWeb(i);
  });
  const inspects = [web, side(SIDE_AFTER, WEB_AFTER)];
  return { inventory: inventory('overlay2', inspects), inspects, config: cleanConfig() };
}

export function cleanConfig(change: Partial<ConfigState> = {}): ConfigState {
  return {
    daemonJsonPath: '/etc/docker/daemon.json',
    daemonJsonPresent: true,
    storageDriver: 'overlay2',
    storageOpts: [],
    daemonJsonSetsDataRoot: false,
    places: [],
    filesRead: 3,
    problems: [],
    ...change,
  };
}
