// Builders for preflight facts: a clean baseline host (devicemapper direct-lvm, ready for
// overlay2, nothing to warn about) that each test changes in one place, and loaders for the
// fixture trees under test/fixtures/hosts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerRecord, DaemonFacts, ImageRecord, Inventory, VolumeRecord } from '../../../src/docker/types.js';
import { gatherPreflightFacts } from '../../../src/facts/gather.js';
import type { DaemonDownFact, HostFacts, PreflightFacts } from '../../../src/facts/types.js';
import { FixtureHost, type FixtureSpec } from '../../../src/host/fixture-host.js';
import type { ReportEntry } from '../../../src/report/entry.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/hosts/', import.meta.url));
export const GB = 1e9;
export const MB = 1e6;

export function daemonFacts(partial: Partial<DaemonFacts> = {}): DaemonFacts {
  return {
    serverVersion: '20.10.24',
    apiVersion: '1.41',
    driver: 'devicemapper',
    driverStatus: [
      ['Pool Name', 'docker-thinpool'],
      ['Base Device Size', '10.74 GB'],
      ['Backing Filesystem', 'xfs'],
      ['Data file', ''],
      ['Metadata file', ''],
      ['Data Space Used', '4.3 GB'],
      ['Data Space Total', '102 GB'],
      ['Data Space Available', '97.7 GB'],
      ['Metadata Space Used', '1.2 MB'],
      ['Metadata Space Total', '1.07 GB'],
      ['Metadata Space Available', '1.069 GB'],
      ['Thin Pool Minimum Free Space', '10.2 GB'],
    ],
    dockerRootDir: '/var/lib/docker',
    liveRestore: false,
    swarmState: 'inactive',
    kernelVersion: '4.18.0-513.el8.x86_64',
    operatingSystem: 'Red Hat Enterprise Linux 8.9 (Ootpa)',
    securityOptions: ['name=seccomp,profile=default'],
    containers: { total: 1, running: 1, paused: 0, stopped: 0 },
    images: 1,
    ...partial,
  };
}

export function image(partial: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: 'sha256:aaaa',
    tags: ['app/web:1.0'],
    repoDigests: [],
    size: 100 * MB,
    created: '2024-01-01T00:00:00Z',
    dangling: false,
    ...partial,
  };
}

export function container(partial: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: 'c1'.padEnd(64, '0'),
    name: 'web',
    image: 'app/web:1.0',
    imageId: 'sha256:aaaa',
    state: 'running',
    running: true,
    autoRemove: false,
    restartPolicy: { name: 'always', maximumRetryCount: 0 },
    mounts: [],
    networkMode: 'bridge',
    networks: [],
    links: [],
    volumesFrom: [],
    sizeRw: 1 * MB,
    labels: {},
    ...partial,
  };
}

export function volume(partial: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    name: 'data',
    driver: 'local',
    options: {},
    labels: {},
    mountpoint: '/var/lib/docker/volumes/data/_data',
    scope: 'local',
    size: 10 * MB,
    usedBy: ['web'],
    anonymous: false,
    remote: false,
    ...partial,
  };
}

export function inventory(partial: Partial<Inventory> = {}): Inventory {
  return {
    capturedAt: '2024-01-01T00:00:00Z',
    daemon: daemonFacts(),
    images: [image()],
    containers: [container()],
    volumes: [volume()],
    networks: [],
    ...partial,
  };
}

const UNIT = `[Unit]
Description=Docker Application Container Engine

[Service]
Type=notify
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
`;

export function hostFacts(partial: Partial<HostFacts> = {}): HostFacts {
  const fsSpace = { type: 0x58465342, blockSize: 4096, totalBytes: 100 * GB, availableBytes: 80 * GB, freeBytes: 80 * GB };
  const mount = { device: '/dev/mapper/rhel-root', mountPoint: '/', fsType: 'xfs', options: ['rw', 'relatime', 'noquota'] };
  return {
    dockerHost: 'unix:///var/run/docker.sock',
    daemonJson: {
      path: '/etc/docker/daemon.json',
      text: '{\n  "storage-driver": "devicemapper",\n  "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool"]\n}\n',
    },
    systemd: {
      service: [{ path: '/usr/lib/systemd/system/docker.service', kind: 'unit', text: UNIT }],
      socket: [],
      storageSetupUnits: [],
    },
    environmentFiles: [{ path: '/etc/sysconfig/docker' }, { path: '/etc/sysconfig/docker-storage' }],
    dockerd: {
      pid: 1500,
      argv: ['/usr/bin/dockerd', '-H', 'fd://', '--containerd=/run/containerd/containerd.sock'],
      matchedBy: 'socket-activation',
      systemdUnit: 'docker.service',
    },
    dockerdCandidates: [{ pid: 1500, argv: ['/usr/bin/dockerd', '-H', 'fd://'] }],
    installedDockerd: { path: '/usr/bin/dockerd', versionOutput: 'Docker version 20.10.24, build 297e128' },
    kernel: { release: '4.18.0-513.el8.x86_64', overlayAvailable: true, overlayEvidence: '/proc/filesystems lists overlay' },
    dataRoot: {
      path: '/var/lib/docker',
      resolvedPath: '/var/lib/docker',
      exists: true,
      mount,
      fsType: 'xfs',
      space: fsSpace,
      device: 64768,
      dType: { supported: true, method: 'xfs_info', evidence: 'naming =version 2 bsize=4096 ascii-ci=0, ftype=1', xfsFtype: 1 },
      driverDirs: ['devicemapper'],
    },
    backupDirectory: {
      path: '/var/lib/devmapper-migrate',
      resolvedPath: '/var/lib',
      exists: false,
      mount,
      fsType: 'xfs',
      space: fsSpace,
      device: 64768,
    },
    lvm: {
      tools: Object.fromEntries(
        ['lvs', 'vgs', 'pvs', 'pvcreate', 'vgcreate', 'lvcreate', 'lvconvert', 'lvchange'].map((t) => [t, `/usr/sbin/${t}`]),
      ),
      lvs: [{ lvName: 'thinpool', vgName: 'docker', attr: 'twi-a-t---', sizeBytes: 102 * GB }],
      vgs: [{ vgName: 'docker', sizeBytes: 110 * GB, freeBytes: 0 }],
      pvs: [{ pvName: '/dev/sdb', vgName: 'docker', sizeBytes: 110 * GB }],
    },
    problems: [],
    ...partial,
  };
}

export interface FactsParts {
  daemon?: Partial<DaemonFacts>;
  inventory?: Partial<Inventory>;
  host?: Partial<HostFacts>;
  daemonDown?: DaemonDownFact;
}

/** Baseline facts with changes; the inventory's daemon is the same object as docker.daemon. */
export function makeFacts(parts: FactsParts = {}): PreflightFacts {
  const daemon = daemonFacts(parts.daemon);
  return {
    collectedAt: '2024-01-01T00:00:00Z',
    docker: { daemon, inventory: inventory({ ...parts.inventory, daemon }) },
    host: hostFacts(parts.host),
    ...(parts.daemonDown ? { daemonDown: parts.daemonDown } : {}),
  };
}

/** Facts read from a fixture tree (test/fixtures/hosts/<name>) through a FixtureHost. */
export async function fixtureFacts(
  name: string,
  options: { dockerHost?: string; daemonConfigPath?: string; backupDirectory?: string; targetDevice?: string } = {},
  extra: FixtureSpec = {},
  inv: Partial<Inventory> = {},
): Promise<PreflightFacts> {
  const dir = path.join(FIXTURES, name);
  const host = await FixtureHost.load(dir, extra);
  const docker = JSON.parse(await readFile(path.join(dir, 'docker.json'), 'utf8')) as { daemon: Partial<DaemonFacts> };
  const daemon = daemonFacts(docker.daemon);
  return gatherPreflightFacts(
    host,
    { daemon, inventory: inventory({ ...inv, daemon }) },
    {
      dockerHost: options.dockerHost ?? 'unix:///var/run/docker.sock',
      daemonConfigPath: options.daemonConfigPath ?? '/etc/docker/daemon.json',
      backupDirectory: options.backupDirectory ?? '/var/lib/devmapper-migrate',
      targetDevice: options.targetDevice,
    },
  );
}

export function keys(entries: readonly ReportEntry[]): string[] {
  return entries.map((e) => e.key);
}

/** Keys of warnings and blockers, as "severity:key". */
export function findings(entries: readonly ReportEntry[]): string[] {
  return entries.filter((e) => e.severity !== 'info').map((e) => `${e.severity}:${e.key}`);
}

export function find(entries: readonly ReportEntry[], key: string): ReportEntry | undefined {
  return entries.find((e) => e.key === key);
}
