// Every preflight check, on facts objects: the finding on a changed baseline, and its absence
// on the clean baseline (and on the near miss where one is worth pinning down).
import type { ContainerRecord } from '../../../src/docker/types.js';
import { describe, expect, it } from 'vitest';
import type { Severity } from '../../../src/report/entry.js';
import { CHECKS, preflightChecks, type PreflightOptions } from '../../../src/preflight/index.js';
import { ENGINE_REMOVALS, type EngineRemoval } from '../../../src/preflight/engine-removals.js';
import { ENGINE_DEFAULT_STOP_TIMEOUT, estimateDowntime } from '../../../src/preflight/checks/downtime.js';
import { supportsOverlaySize } from '../../../src/preflight/checks/overlay2.js';
import { analyse } from '../../../src/preflight/analysis.js';
import { resolvePreflightOptions } from '../../../src/preflight/options.js';
import { container, find, findings, GB, hostFacts, image, keys, makeFacts, MB, volume, type FactsParts } from './helpers.js';

const base = hostFacts();
const DIRECT_LVM: Partial<PreflightOptions> = { target: 'direct-lvm', device: '/dev/sdc' };
const emptyDisk = {
  path: '/dev/sdc',
  resolvedPath: '/dev/sdc',
  exists: true,
  isBlockDevice: true,
  lsblk: { name: '/dev/sdc', type: 'disk', sizeBytes: 50 * GB, children: [] },
  mountedAt: [],
  signatures: [],
};
const loopStatus: [string, string][] = [
  ['Pool Name', 'docker-8:1-1048577-pool'],
  ['Data file', '/dev/loop0'],
  ['Metadata file', '/dev/loop1'],
  ['Data loop file', '/var/lib/docker/devicemapper/devicemapper/data'],
  ['Metadata loop file', '/var/lib/docker/devicemapper/devicemapper/metadata'],
  ['Data Space Used', '1.2 GB'],
  ['Data Space Total', '107.4 GB'],
  ['Data Space Available', '60 GB'],
  ['Metadata Space Used', '2 MB'],
  ['Metadata Space Total', '2.147 GB'],
  ['Thin Pool Minimum Free Space', '10.74 GB'],
];
const unitWith = (execStart: string, extra = '') =>
  `[Service]\n${extra}ExecStart=${execStart}\n`;

interface Case {
  key: string;
  severity: Severity;
  parts: FactsParts;
  options?: Partial<PreflightOptions>;
  /** Text the entry must contain (the daemon's words, the line number...). */
  says?: string[];
  /** Facts without the finding when the baseline has it (the default: the baseline). */
  absentOn?: FactsParts;
}

const CASES: Record<string, Case> = {
  'source-driver-unsupported': { key: 'source-driver-unsupported', severity: 'blocker', parts: { daemon: { driver: 'btrfs', driverStatus: [] } } },
  'source-driver-unsupported (overlay2 → direct-lvm)': {
    key: 'source-driver-unsupported',
    severity: 'blocker',
    parts: { daemon: { driver: 'overlay2', driverStatus: [] }, host: { targetDevice: emptyDisk } },
    options: DIRECT_LVM,
  },
  'already-on-target': { key: 'already-on-target', severity: 'info', parts: { daemon: { driver: 'overlay2', driverStatus: [] } } },
  'devicemapper-loop-lvm': {
    key: 'devicemapper-loop-lvm',
    severity: 'warning',
    parts: { daemon: { driverStatus: loopStatus } },
    says: ['/var/lib/docker/devicemapper/devicemapper/data', '--sparse'],
  },
  'already-direct-lvm': {
    key: 'already-direct-lvm',
    severity: 'info',
    parts: { host: { targetDevice: emptyDisk } },
    options: DIRECT_LVM,
    absentOn: { daemon: { driverStatus: loopStatus }, host: { targetDevice: emptyDisk } },
  },
  'thin-pool-space-low (data)': {
    key: 'thin-pool-space-low',
    severity: 'blocker',
    parts: {
      daemon: {
        driverStatus: [
          ['Pool Name', 'docker-thinpool'],
          ['Data Space Used', '95 GB'],
          ['Data Space Total', '102 GB'],
          ['Metadata Space Used', '1 MB'],
          ['Metadata Space Total', '1 GB'],
          ['Thin Pool Minimum Free Space', '10.2 GB'],
        ],
      },
    },
    says: ['less than minimum required'],
  },
  'thin-pool-space-low (metadata, default 10%)': {
    key: 'thin-pool-space-low',
    severity: 'blocker',
    parts: {
      daemon: {
        driverStatus: [
          ['Pool Name', 'docker-thinpool'],
          ['Data Space Used', '1 GB'],
          ['Data Space Total', '102 GB'],
          ['Metadata Space Used', '950 MB'],
          ['Metadata Space Total', '1 GB'],
        ],
      },
    },
    says: ['metadata'],
  },
  'docker-version-devicemapper-removed (running)': {
    key: 'docker-version-devicemapper-removed',
    severity: 'blocker',
    parts: { daemon: { serverVersion: '25.0.3' } },
    says: ['the devicemapper storage-driver has been deprecated and removed'],
  },
  'docker-version-devicemapper-removed (installed, not restarted)': {
    key: 'docker-version-devicemapper-removed',
    severity: 'blocker',
    parts: { host: { installedDockerd: { path: '/usr/bin/dockerd', versionOutput: 'Docker version 26.1.4, build 5650f9b' } } },
    says: ['26.1.4 is installed'],
  },
  'docker-version-devicemapper-removed (direct-lvm target)': {
    key: 'docker-version-devicemapper-removed',
    severity: 'blocker',
    parts: { host: { targetDevice: emptyDisk, installedDockerd: { path: '/usr/bin/dockerd', versionOutput: 'Docker version 25.0.0' } } },
    options: DIRECT_LVM,
  },
  'storage-driver-not-explicit': {
    key: 'storage-driver-not-explicit',
    severity: 'warning',
    parts: { host: { daemonJson: { path: '/etc/docker/daemon.json', text: '{ "log-driver": "journald" }' } } },
    says: ['without a word', 'explicitly choose this storage driver'],
  },
  'storage-driver-not-explicit (no daemon.json, leftover devicemapper dir)': {
    key: 'storage-driver-not-explicit',
    severity: 'warning',
    parts: { daemon: { driver: 'vfs', driverStatus: [] }, host: { daemonJson: { path: '/etc/docker/daemon.json' } } },
  },
  'daemon-json-invalid': {
    key: 'daemon-json-invalid',
    severity: 'blocker',
    parts: { host: { daemonJson: { path: '/etc/docker/daemon.json', text: '{\n  "storage-driver": "devicemapper",\n}\n' } } },
    says: ['line 3, column 1', 'trailing comma'],
  },
  'daemon-json-bom': {
    key: 'daemon-json-bom',
    severity: 'warning',
    parts: { host: { daemonJson: { path: '/etc/docker/daemon.json', text: '\uFEFF{ "storage-driver": "devicemapper" }' } } },
  },
  'daemon-config-path-mismatch': {
    key: 'daemon-config-path-mismatch',
    severity: 'warning',
    parts: {
      host: {
        dockerd: { pid: 7, argv: ['/usr/bin/dockerd', '--config-file', '/etc/docker/custom.json'], matchedBy: 'default-socket' },
      },
    },
    says: ['--daemon-config /etc/docker/custom.json'],
  },
  'storage-flag-conflict (drop-in ExecStart)': {
    key: 'storage-flag-conflict',
    severity: 'warning',
    parts: {
      host: {
        systemd: {
          service: [
            { path: '/lib/systemd/system/docker.service', kind: 'unit', text: unitWith('/usr/bin/dockerd -H fd://') },
            {
              path: '/etc/systemd/system/docker.service.d/override.conf',
              kind: 'drop-in',
              text: '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -s devicemapper --storage-opt dm.basesize=20G\n',
            },
          ],
          socket: [],
          storageSetupUnits: [],
        },
      },
    },
    says: ['specified both as a flag and in the configuration file', 'from flag: devicemapper, from file: overlay2', 'unknown option dm.basesize', 'override.conf:3'],
  },
  'storage-flag-conflict (sysconfig DOCKER_STORAGE_OPTIONS)': {
    key: 'storage-flag-conflict',
    severity: 'warning',
    parts: {
      host: {
        systemd: {
          service: [
            {
              path: '/usr/lib/systemd/system/docker.service',
              kind: 'unit',
              text: unitWith('/usr/bin/dockerd-current $OPTIONS $DOCKER_STORAGE_OPTIONS', 'EnvironmentFile=-/etc/sysconfig/docker-storage\n'),
            },
          ],
          socket: [],
          storageSetupUnits: [],
        },
        environmentFiles: [
          {
            path: '/etc/sysconfig/docker-storage',
            text: 'DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool"\n',
          },
        ],
      },
    },
    says: ['/etc/sysconfig/docker-storage:1 (DOCKER_STORAGE_OPTIONS)', 'dockerd is started with them'],
  },
  'storage-flags-unexplained': {
    key: 'storage-flags-unexplained',
    severity: 'blocker',
    parts: { host: { dockerd: { pid: 42, argv: ['/usr/bin/dockerd', '--storage-driver=devicemapper'], matchedBy: 'default-socket' } } },
    says: ['--storage-driver=devicemapper', 'not under docker.service'],
  },
  'storage-flags-unexplained (service manager: command)': {
    key: 'storage-flags-unexplained',
    severity: 'warning',
    parts: { host: { dockerd: { pid: 42, argv: ['/usr/bin/dockerd', '-s', 'vfs'], matchedBy: 'host-flag' } } },
    options: { serviceManager: 'command' },
  },
  'docker-host-remote': { key: 'docker-host-remote', severity: 'blocker', parts: { host: { dockerHost: 'tcp://10.1.2.3:2376' } } },
  'dockerd-process-not-found': {
    key: 'dockerd-process-not-found',
    severity: 'warning',
    parts: { host: { dockerd: undefined, dockerdCandidates: [{ pid: 99, argv: ['/usr/bin/dockerd', '-H', 'unix:///other.sock'] }] } },
    says: ['pid 99'],
  },
  'docker-storage-setup-active': {
    key: 'docker-storage-setup-active',
    severity: 'warning',
    parts: {
      host: {
        systemd: { service: base.systemd.service, socket: [], storageSetupUnits: ['/usr/lib/systemd/system/docker-storage-setup.service'] },
        environmentFiles: [{ path: '/etc/sysconfig/docker-storage-setup', text: 'STORAGE_DRIVER=devicemapper\nDEVS=/dev/sdb\nVG=docker-vg\n' }],
      },
    },
    says: ['STORAGE_DRIVER=devicemapper', 'The run sets STORAGE_DRIVER="" in /etc/sysconfig/docker-storage-setup', 'rollback puts the file back'],
  },
  // overlay2 there is no cure: it writes "--storage-driver overlay2", which conflicts with daemon.json.
  'docker-storage-setup-active (overlay2)': {
    key: 'docker-storage-setup-active',
    severity: 'warning',
    parts: {
      host: {
        systemd: { service: base.systemd.service, socket: [], storageSetupUnits: ['/usr/lib/systemd/system/docker-storage-setup.service'] },
        environmentFiles: [{ path: '/etc/sysconfig/docker-storage-setup', text: 'STORAGE_DRIVER=overlay2\n' }],
      },
    },
    absentOn: {
      host: {
        systemd: { service: base.systemd.service, socket: [], storageSetupUnits: ['/usr/lib/systemd/system/docker-storage-setup.service'] },
        environmentFiles: [{ path: '/etc/sysconfig/docker-storage-setup', text: 'STORAGE_DRIVER=""\n' }],
      },
    },
    says: ['STORAGE_DRIVER=overlay2', 'writes "--storage-driver overlay2"'],
  },
  // RHEL 7 Extras' docker-latest: refused, with the way to do it (its files are not docker.service's).
  'docker-latest': {
    key: 'docker-latest',
    severity: 'blocker',
    parts: {
      host: {
        dockerd: { pid: 1500, argv: ['/usr/bin/dockerd-latest', '--add-runtime', 'docker-runc=/usr/libexec/docker/docker-runc-latest', '--storage-driver', 'devicemapper'], matchedBy: 'default-socket', systemdUnit: 'docker-latest.service' },
      },
    },
    says: ['/etc/sysconfig/docker-latest-storage', 'systemctl disable --now docker-latest', '--daemon-config /etc/docker-latest/daemon.json', 'ignoreBlockers: [docker-latest]'],
  },
  'data-root-mixed-drivers': {
    key: 'data-root-mixed-drivers',
    severity: 'warning',
    parts: { host: { dataRoot: { ...base.dataRoot, driverDirs: ['devicemapper', 'overlay2'] } } },
    says: ['contains several valid graphdrivers: devicemapper, overlay2'],
  },
  'kernel-too-old-for-overlay2': {
    key: 'kernel-too-old-for-overlay2',
    severity: 'blocker',
    parts: { host: { kernel: { release: '3.10.0-327.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } } },
    says: ['driver not supported'],
  },
  // docker-ce 17.03–17.11 refuse overlay2 below 4.0 without the option; RHEL 7.9's 3.10 carries overlay2.
  'overlay2-kernel-check-override': {
    key: 'overlay2-kernel-check-override',
    severity: 'warning',
    parts: { daemon: { serverVersion: '17.09.1-ce' }, host: { kernel: { release: '3.10.0-1160.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } } },
    absentOn: { daemon: { serverVersion: '17.12.1-ce' }, host: { kernel: { release: '3.10.0-1160.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } } },
    says: ['overlay2.override_kernel_check=true', 'The run writes it into the storage-opts of daemon.json', 'Engine 24'],
  },
  'overlay-module-missing': {
    key: 'overlay-module-missing',
    severity: 'warning',
    parts: { host: { kernel: { release: '5.4.0-150-generic', overlayAvailable: false, overlayEvidence: 'not found' } } },
  },
  'selinux-overlay2-unsupported': {
    key: 'selinux-overlay2-unsupported',
    severity: 'blocker',
    parts: {
      daemon: { securityOptions: ['name=seccomp,profile=default', 'name=selinux'] },
      host: { kernel: { release: '3.10.0-514.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } },
    },
    says: ['SELinux is not supported with the overlay2 graph driver on this kernel'],
  },
  'data-root-filesystem-unsupported': {
    key: 'data-root-filesystem-unsupported',
    severity: 'blocker',
    parts: { host: { dataRoot: { ...base.dataRoot, fsType: 'nfs4', dType: { method: 'none', evidence: 'no d_type check for nfs4' } } } },
  },
  'data-root-no-dtype': {
    key: 'data-root-no-dtype',
    severity: 'blocker',
    parts: {
      host: {
        dataRoot: { ...base.dataRoot, dType: { supported: false, method: 'xfs_info', evidence: 'naming =version 2 bsize=4096 ascii-ci=0 ftype=0', xfsFtype: 0 } },
      },
    },
    says: ['ftype=0', 'Reformat the filesystem with ftype=1', 'mkfs.xfs -n ftype=1'],
  },
  'data-root-dtype-unknown': {
    key: 'data-root-dtype-unknown',
    severity: 'warning',
    parts: { host: { dataRoot: { ...base.dataRoot, dType: { method: 'xfs_info', evidence: 'xfs_info / failed (exit 1)' } } } },
  },
  'dm-basesize-size-limit': {
    key: 'dm-basesize-size-limit',
    severity: 'warning',
    parts: { host: { daemonJson: { path: '/etc/docker/daemon.json', text: '{"storage-driver":"devicemapper","storage-opts":["dm.basesize=20G"]}' } } },
    says: ['overlay2.size', 'pquota', 'Filesystem does not support Project Quota'],
  },
  'dm-basesize-size-limit (xfs with pquota)': {
    key: 'dm-basesize-size-limit',
    severity: 'info',
    parts: {
      host: {
        daemonJson: { path: '/etc/docker/daemon.json', text: '{"storage-driver":"devicemapper","storage-opts":["dm.basesize=20G"]}' },
        dataRoot: { ...base.dataRoot, mount: { ...base.dataRoot.mount!, options: ['rw', 'prjquota'] } },
      },
    },
    says: ['overlay2.size=20G', 'the run writes overlay2.size=20G', 'Nothing to do'],
  },
  'state-dir-inside-data-root (a link into it)': {
    key: 'state-dir-inside-data-root',
    severity: 'blocker',
    parts: { host: { stateDirectory: { path: '/srv/state', resolvedPath: '/var/lib/docker/keep', realPath: '/var/lib/docker/keep', exists: true } } },
    says: ['/srv/state (really /var/lib/docker/keep)', 'cannot be ignored'],
  },
  'backup-dir-inside-data-root': {
    key: 'backup-dir-inside-data-root',
    severity: 'blocker',
    parts: { host: { backupDirectory: { path: '/var/lib/docker/archives', resolvedPath: '/var/lib/docker', realPath: '/var/lib/docker/archives', exists: false } } },
  },
  'backup-space-insufficient': {
    key: 'backup-space-insufficient',
    severity: 'blocker',
    parts: { inventory: { images: [image({ size: 90 * GB })] } },
  },
  'backup-space-insufficient (separate filesystem)': {
    key: 'backup-space-insufficient',
    severity: 'blocker',
    parts: {
      host: {
        backupDirectory: {
          path: '/backup',
          exists: true,
          fsType: 'ext4',
          device: 2049,
          space: { type: 0xef53, blockSize: 4096, totalBytes: 10 * GB, availableBytes: 1 * GB, freeBytes: 1 * GB },
        },
      },
      inventory: { images: [image({ size: 2 * GB })] },
    },
    says: ['1.0 GB free', '2.0 GB'],
  },
  'data-root-space-insufficient': {
    key: 'data-root-space-insufficient',
    severity: 'blocker',
    parts: {
      host: {
        backupDirectory: {
          path: '/backup',
          exists: true,
          device: 2049,
          space: { type: 0xef53, blockSize: 4096, totalBytes: 1000 * GB, availableBytes: 900 * GB, freeBytes: 900 * GB },
        },
      },
      inventory: { images: [image({ size: 81 * GB })] },
    },
  },
  'space-unknown': {
    key: 'space-unknown',
    severity: 'warning',
    parts: { host: { backupDirectory: { path: '/var/lib/devmapper-migrate', exists: false } } },
  },
  'swarm-active': { key: 'swarm-active', severity: 'blocker', parts: { daemon: { swarmState: 'active' } } },
  'live-restore-enabled': { key: 'live-restore-enabled', severity: 'warning', parts: { daemon: { liveRestore: true } } },
  'containers-paused': {
    key: 'containers-paused',
    severity: 'warning',
    parts: { inventory: { containers: [container({ name: 'cache', state: 'paused' })] } },
    says: ['cache'],
  },
  'containers-restarting': {
    key: 'containers-restarting',
    severity: 'warning',
    parts: { inventory: { containers: [container({ name: 'flaky', state: 'restarting' })] } },
  },
  'containers-dead': {
    key: 'containers-dead',
    severity: 'warning',
    parts: { inventory: { containers: [container({ name: 'zombie', state: 'dead', running: false })] } },
  },
  'containers-volumes-from': {
    key: 'containers-volumes-from',
    severity: 'warning',
    parts: { inventory: { containers: [container(), container({ name: 'backup', volumesFrom: ['web:ro'] })] } },
    says: ['backup (from web:ro)'],
  },
  'containers-network-container': {
    key: 'containers-network-container',
    severity: 'warning',
    parts: { inventory: { containers: [container(), container({ name: 'sidecar', networkMode: 'container:web' })] } },
  },
  'containers-links': {
    key: 'containers-links',
    severity: 'warning',
    parts: { inventory: { containers: [container({ name: 'app', links: ['/db:/app/db'] })] } },
  },
  'containers-auto-remove': {
    key: 'containers-auto-remove',
    severity: 'blocker',
    parts: { inventory: { containers: [container({ name: 'job', autoRemove: true, running: true })] } },
    says: ['--rm', 'deletes it', 'cannot carry'],
  },
  'volumes-anonymous': {
    key: 'volumes-anonymous',
    severity: 'warning',
    parts: { inventory: { volumes: [volume({ name: 'f'.repeat(64), anonymous: true })] } },
  },
  'volumes-remote': {
    key: 'volumes-remote',
    severity: 'warning',
    parts: {
      inventory: {
        volumes: [volume({ name: 'shared', remote: true, options: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/export/shared' } })],
      },
    },
    says: ['shared (nfs :/export/shared)'],
  },
  'volumes-plugin-driver': {
    key: 'volumes-plugin-driver',
    severity: 'warning',
    parts: { inventory: { volumes: [volume({ name: 'rex', driver: 'rexray/ebs' })] } },
  },
  'managed-plugins': {
    key: 'managed-plugins',
    severity: 'blocker',
    parts: { inventory: { plugins: [{ id: 'p1', name: 'vieux/sshfs:latest', enabled: true, capabilities: ['volumedriver'], reference: 'docker.io/vieux/sshfs:latest' }] } },
    says: ['vieux/sshfs:latest (volumedriver; used by nothing in the inventory)', 'docker plugin install docker.io/vieux/sshfs:latest'],
  },
  'facts-incomplete': {
    key: 'facts-incomplete',
    severity: 'warning',
    parts: { host: { problems: [{ probe: 'lvs', message: 'lvs failed (exit 5): permission denied' }] } },
  },
  'lvm-tools-missing': {
    key: 'lvm-tools-missing',
    severity: 'blocker',
    parts: { host: { targetDevice: emptyDisk, lvm: { tools: { lvs: null, vgs: null, pvs: null } } } },
    options: DIRECT_LVM,
  },
  'target-device-not-given': { key: 'target-device-not-given', severity: 'blocker', parts: {}, options: { target: 'direct-lvm' } },
  'target-device-not-found': {
    key: 'target-device-not-found',
    severity: 'blocker',
    parts: { host: { targetDevice: { path: '/dev/sdc', exists: false, isBlockDevice: false, mountedAt: [] } } },
    options: DIRECT_LVM,
  },
  'target-device-not-block-device': {
    key: 'target-device-not-block-device',
    severity: 'blocker',
    parts: { host: { targetDevice: { ...emptyDisk, isBlockDevice: false } } },
    options: DIRECT_LVM,
  },
  'target-device-mounted': {
    key: 'target-device-mounted',
    severity: 'blocker',
    parts: { host: { targetDevice: { ...emptyDisk, mountedAt: ['/srv/data'] } } },
    options: DIRECT_LVM,
    says: ['/srv/data'],
  },
  'target-device-held': {
    key: 'target-device-held',
    severity: 'blocker',
    parts: { host: { targetDevice: { ...emptyDisk, heldBy: ['/dev/sdc held by /dev/dm-3'] } } },
    options: DIRECT_LVM,
    says: ['/dev/dm-3', 'multipath'],
  },
  'target-device-in-current-pool': {
    key: 'target-device-in-current-pool',
    severity: 'blocker',
    parts: { host: { targetDevice: { ...emptyDisk, path: '/dev/sdb', resolvedPath: '/dev/sdb' } } },
    options: { target: 'direct-lvm', device: '/dev/sdb' },
  },
  'target-device-in-current-pool (loop-lvm backing device)': {
    key: 'target-device-in-current-pool',
    severity: 'blocker',
    parts: { daemon: { driverStatus: loopStatus }, host: { targetDevice: { ...emptyDisk, path: '/dev/loop0', resolvedPath: '/dev/loop0' } } },
    options: { target: 'direct-lvm', device: '/dev/loop0' },
  },
  'target-device-in-volume-group': {
    key: 'target-device-in-volume-group',
    severity: 'blocker',
    parts: {
      host: {
        targetDevice: emptyDisk,
        lvm: { ...base.lvm, pvs: [...(base.lvm.pvs ?? []), { pvName: '/dev/sdc', vgName: 'data' }] },
      },
    },
    options: DIRECT_LVM,
    says: ['volume group data'],
  },
  'target-device-has-signature': {
    key: 'target-device-has-signature',
    severity: 'blocker',
    parts: { host: { targetDevice: { ...emptyDisk, signatures: [{ type: 'ext4', usage: 'filesystem' }] } } },
    options: DIRECT_LVM,
    says: ['Wipe signatures using wipefs or use WIPE_SIGNATURES=true'],
  },
  'target-device-has-signature (wiping allowed)': {
    key: 'target-device-has-signature',
    severity: 'warning',
    parts: { host: { targetDevice: { ...emptyDisk, signatures: [{ type: 'dos', usage: 'partition table' }] } } },
    options: { ...DIRECT_LVM, wipeSignatures: true },
  },
  'target-device-signature-unknown': {
    key: 'target-device-signature-unknown',
    severity: 'warning',
    parts: { host: { targetDevice: { ...emptyDisk, signatures: undefined } } },
    options: DIRECT_LVM,
  },
  'target-device-too-small': {
    key: 'target-device-too-small',
    severity: 'warning',
    parts: {
      host: { targetDevice: { ...emptyDisk, lsblk: { ...emptyDisk.lsblk, sizeBytes: 1 * GB } } },
      inventory: { images: [image({ size: 5 * GB })] },
    },
    options: DIRECT_LVM,
  },
};

const DAEMON_JSON = '/etc/docker/daemon.json';
const withDaemonJson = (config: Record<string, unknown>): FactsParts => ({ host: { daemonJson: { path: DAEMON_JSON, text: JSON.stringify(config) } } });
const withUnit = (execStart: string): FactsParts => ({
  host: { systemd: { service: [{ path: '/etc/systemd/system/docker.service', kind: 'unit', text: unitWith(execStart) }], socket: [], storageSetupUnits: [] } },
});
const isStorageRow = (row: EngineRemoval) => row.storageDriver !== undefined || row.storageOpt !== undefined;

/** One case per row of the removals table: the setting in daemon.json (or as a flag), against the release that removed it. */
function removalCase(row: EngineRemoval): Case {
  let parts: FactsParts;
  if (row.daemonJsonKeys) parts = withDaemonJson({ [row.daemonJsonKeys[0]!]: 'value' });
  else if (row.flags) parts = withUnit(`/usr/bin/dockerd -H fd:// ${row.flags[0]!}=value`);
  else if (row.storageDriver) parts = withDaemonJson({ 'storage-driver': row.storageDriver });
  else if (row.storageOpt) parts = withDaemonJson({ 'storage-opts': [row.storageOpt.endsWith('.') ? `${row.storageOpt}basesize=20G` : `${row.storageOpt}=true`] });
  else if (row.logDriver) parts = withDaemonJson({ 'log-driver': row.logDriver });
  else parts = withDaemonJson({ 'log-opts': { [row.logOpt!]: 'true' } });
  return {
    key: `engine-removed-${row.id}`,
    severity: row.effect === 'refuses-to-start' && row.confirmed ? 'blocker' : 'warning',
    parts,
    // Storage settings are the run's to rewrite before the cutover: checked after it.
    options: { targetEngine: row.removedIn, ...(isStorageRow(row) ? { afterCutover: true } : {}) },
    says: [row.removedIn, row.fix],
    absentOn: withDaemonJson({}),
  };
}
for (const row of ENGINE_REMOVALS) CASES[`engine-removed-${row.id}`] = removalCase(row);

const RHEL_UNIT =
  '/usr/bin/dockerd-current --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current --default-runtime=docker-runc $OPTIONS';
const V25_JOURNAL_LINE =
  'failed to start daemon: error initializing graphdriver: [graphdriver] ERROR: the devicemapper storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information: devicemapper';
const DOWN = { message: 'Cannot reach the Docker daemon at /var/run/docker.sock: nothing listens there (ECONNREFUSED).', remedy: 'Start Docker (systemctl start docker) and try again.' };
const STRANDED = { metadataFiles: ['base', 'deviceset-metadata', 'transaction-metadata'], metadataCount: 3, poolFiles: ['data', 'metadata'] };

Object.assign(CASES, {
  'engine-runtime-docker-runc-flags': {
    key: 'engine-runtime-docker-runc-flags',
    severity: 'warning',
    parts: withUnit(RHEL_UNIT),
    says: ['--add-runtime docker-runc=/usr/libexec/docker/docker-runc-current', '--default-runtime docker-runc', '(ExecStart)'],
  },
  'engine-runtime-docker-runc-flags (daemon.json)': {
    key: 'engine-runtime-docker-runc-flags',
    severity: 'warning',
    parts: withDaemonJson({ 'default-runtime': 'docker-runc', runtimes: { 'docker-runc': { path: '/usr/libexec/docker/docker-runc-current' } } }),
    says: [DAEMON_JSON],
    // The fix the containers' entry gives: the name on the new engine's runc.
    absentOn: withDaemonJson({ 'default-runtime': 'docker-runc', runtimes: { 'docker-runc': { path: 'runc' } } }),
  },
  'engine-runtime-docker-runc-containers': {
    key: 'engine-runtime-docker-runc-containers',
    severity: 'warning',
    parts: { inventory: { containers: [container({ name: 'db', runtime: 'docker-runc' })] } },
    says: ['db', 'unknown or invalid runtime name: docker-runc', '"runtimes": {"docker-runc": {"path": "runc"}}'],
    absentOn: {
      inventory: { containers: [container({ name: 'db', runtime: 'docker-runc' })] },
      ...withDaemonJson({ runtimes: { 'docker-runc': { path: 'runc' } } }),
    },
  },
  'engine-tcp-without-tls': {
    key: 'engine-tcp-without-tls',
    severity: 'warning',
    parts: withUnit('/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375'),
    says: ['tcp://0.0.0.0:2375'],
  },
  'engine-tcp-without-tls (refused from 27.0)': {
    key: 'engine-tcp-without-tls',
    severity: 'blocker',
    parts: withDaemonJson({ hosts: ['unix:///var/run/docker.sock', 'tcp://10.0.0.5:2375'], tls: false }),
    options: { targetEngine: '27.0' },
    says: ['27.0'],
  },
  'engine-no-packages-el7': {
    key: 'engine-no-packages-el7',
    severity: 'warning',
    parts: { host: { kernel: { release: '3.10.0-1160.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } } },
    options: { targetEngine: '27.0' },
    says: ['26.1', '--target-engine 26.1'],
  },
  'daemon-unreachable': {
    key: 'daemon-unreachable',
    severity: 'blocker',
    parts: { daemonDown: DOWN, host: { dockerd: undefined, journal: { read: true } } },
    says: [DOWN.message, DOWN.remedy, 'holds no start failure'],
  },
  'engine-refuses-devicemapper': {
    key: 'engine-refuses-devicemapper',
    severity: 'blocker',
    parts: { daemonDown: DOWN, host: { dockerd: undefined, journal: { read: true, lastError: V25_JOURNAL_LINE } } },
    says: [V25_JOURNAL_LINE, 'upgraded', 'Reinstall the engine the host ran before', 'empty overlay2'],
    absentOn: { daemonDown: DOWN, host: { dockerd: undefined, journal: { read: true, lastError: 'failed to start daemon: pid file found, ensure docker is not running or delete /var/run/docker.pid' } } },
  },
  'devicemapper-data-not-in-use': {
    key: 'devicemapper-data-not-in-use',
    severity: 'blocker',
    parts: {
      daemon: { serverVersion: '26.1.5', driver: 'overlay2', driverStatus: [] },
      host: { daemonJson: { path: DAEMON_JSON }, dataRoot: { ...base.dataRoot, driverDirs: ['devicemapper', 'overlay2'], devicemapper: STRANDED } },
    },
    says: ['/var/lib/docker/devicemapper', 'deviceset-metadata', 'upgraded before the migration', 'Do not delete'],
  },
} satisfies Record<string, Case>);

describe('preflight checks on facts', () => {
  const baseline = preflightChecks(makeFacts());
  const baselineLvm = preflightChecks(makeFacts({ host: { targetDevice: emptyDisk } }), DIRECT_LVM);

  it('finds nothing to warn about on the clean baseline (overlay2 and direct-lvm targets)', () => {
    expect(findings(baseline)).toEqual([]);
    expect(findings(baselineLvm)).toEqual([]);
    expect(keys(baselineLvm)).toContain('already-direct-lvm');
    expect(keys(baseline)).toEqual(['source-driver', 'docker-version', 'data-root-filesystem', 'space-estimate', 'engine-target', 'downtime-estimate']);
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: finds it, and not on the baseline`, () => {
      const entries = preflightChecks(makeFacts(c.parts), c.options);
      const hit = find(entries, c.key);
      expect(hit, `${c.key} in ${JSON.stringify(keys(entries))}`).toBeDefined();
      expect(hit!.severity).toBe(c.severity);
      expect(hit!.title.length).toBeGreaterThan(0);
      if (c.severity !== 'info') expect(hit!.remediation, `${c.key} has a remediation`).toBeTruthy();
      const text = `${hit!.title} ${hit!.summary} ${hit!.remediation ?? ''}`;
      for (const words of c.says ?? []) expect(text).toContain(words);
      const clean = c.absentOn
        ? preflightChecks(makeFacts(c.absentOn), c.options)
        : c.options?.target === 'direct-lvm'
          ? baselineLvm
          : baseline;
      expect(keys(clean)).not.toContain(c.key);
    });
  }

  it('every key a check declares is exercised by a case or the baseline', () => {
    const exercised = new Set([...Object.values(CASES).map((c) => c.key), ...keys(baseline)]);
    const declared = CHECKS.flatMap((c) => c.keys);
    expect(declared.filter((k) => !exercised.has(k))).toEqual([]);
  });

  it('puts blockers first, then warnings, then information', () => {
    const entries = preflightChecks(
      makeFacts({ daemon: { swarmState: 'active', liveRestore: true }, inventory: { containers: [container({ autoRemove: true })] } }),
    );
    const order = entries.map((e) => e.severity);
    const rank = { blocker: 0, warning: 1, info: 2 };
    expect(order).toEqual([...order].sort((a, b) => rank[a] - rank[b]));
    expect(order[0]).toBe('blocker');
  });
});

describe('near misses', () => {
  it('a pool with 15% free is not below the minimum', () => {
    const entries = preflightChecks(
      makeFacts({ daemon: { driverStatus: [['Pool Name', 'p'], ['Data Space Used', '85 GB'], ['Data Space Total', '100 GB'], ['Metadata Space Used', '1 MB'], ['Metadata Space Total', '1 GB']] } }),
    );
    expect(keys(entries)).not.toContain('thin-pool-space-low');
  });

  it('Engine 24 with devicemapper is not the v25 blocker, and v25 on a host already on overlay2 is fine', () => {
    expect(keys(preflightChecks(makeFacts({ daemon: { serverVersion: '24.0.9' } })))).not.toContain('docker-version-devicemapper-removed');
    const onOverlay = preflightChecks(
      makeFacts({
        daemon: { serverVersion: '25.0.3', driver: 'overlay2', driverStatus: [] },
        host: { daemonJson: { path: '/etc/docker/daemon.json', text: '{"storage-driver":"overlay2"}' } },
      }),
    );
    expect(findings(onOverlay)).toEqual([]);
    expect(keys(onOverlay)).toContain('already-on-target');
  });

  it('a storage driver named only by a flag counts as explicit', () => {
    const entries = preflightChecks(
      makeFacts({
        host: {
          daemonJson: { path: '/etc/docker/daemon.json' },
          systemd: { service: [{ path: '/etc/systemd/system/docker.service', kind: 'unit', text: unitWith('/usr/bin/dockerd -s devicemapper') }], socket: [], storageSetupUnits: [] },
          dockerd: { pid: 5, argv: ['/usr/bin/dockerd', '-s', 'devicemapper'], matchedBy: 'default-socket', systemdUnit: 'docker.service' },
        },
      }),
    );
    expect(keys(entries)).not.toContain('storage-driver-not-explicit');
    // ...and the flag on the command line is explained by the unit, so only the conflict is reported.
    expect(findings(entries)).toEqual(['warning:storage-flag-conflict']);
  });

  it('a variable set in sysconfig but not used by the unit is reported as inactive', () => {
    const entries = preflightChecks(
      makeFacts({ host: { environmentFiles: [{ path: '/etc/sysconfig/docker', text: "OPTIONS='--storage-driver=devicemapper'\n" }] } }),
    );
    const hit = find(entries, 'storage-flag-conflict');
    expect(hit?.details?.active).toBe(false);
    expect(hit?.summary).toContain('does not use them');
  });

  it('a --data-root flag alone does not conflict with a storage driver in daemon.json', () => {
    const entries = preflightChecks(
      makeFacts({ host: { dockerd: { pid: 5, argv: ['/usr/bin/dockerd', '--data-root', '/srv/docker'], matchedBy: 'default-socket' } } }),
    );
    expect(findings(entries)).toEqual([]);
  });

  it('RHEL 7.4+ kernels carry overlay2 with SELinux; an xfs with ftype=1 and ext4 pass', () => {
    const entries = preflightChecks(
      makeFacts({
        daemon: { securityOptions: ['name=selinux'] },
        host: { kernel: { release: '3.10.0-1160.el7.x86_64', overlayAvailable: true, overlayEvidence: '' } },
      }),
      // 26.1 is the last engine with RHEL 7 packages (engine-no-packages-el7 beyond it).
      { targetEngine: '26.1' },
    );
    expect(findings(entries)).toEqual([]);
  });

  it('a device with wipeSignatures but mounted is still blocked', () => {
    const entries = preflightChecks(makeFacts({ host: { targetDevice: { ...emptyDisk, mountedAt: ['/mnt'] } } }), {
      ...DIRECT_LVM,
      wipeSignatures: true,
    });
    expect(find(entries, 'target-device-mounted')?.severity).toBe('blocker');
  });
});

describe('estimates', () => {
  it('shows the space estimate with its parts', () => {
    const entries = preflightChecks(
      makeFacts({
        inventory: {
          images: [image({ id: 'a', size: 2 * GB }), image({ id: 'b', size: 1 * GB }), image({ id: 'a', size: 2 * GB })],
          containers: [container({ sizeRw: 500 * MB })],
          volumes: [volume({ size: 300 * MB }), volume({ name: 'nfs', remote: true, size: 50 * GB }), volume({ name: 'x', size: -1 })],
        },
      }),
    );
    const e = find(entries, 'space-estimate')!;
    expect(e.details?.estimate).toMatchObject({
      imagesBytes: 3 * GB,
      writableBytes: 500 * MB,
      volumesBytes: 300 * MB,
      backupBytes: 3.8 * GB,
      // The two largest archives unpack under the data-root while they load, two at a time.
      loadScratchBytes: 3 * GB,
      dataRootBytes: 6.8 * GB,
      unknownSizeVolumes: ['x'],
    });
    expect(e.summary).toContain('images 3.0 GB');
    expect(e.summary).toContain('3.0 GB in the new data-root while images load (the daemon unpacks each archive there first, 2 at a time: the largest 2)');
    expect(e.summary).toContain('1 volume(s) of unknown size are not counted');
  });

  it('leaves out what is not archived', () => {
    const e = find(preflightChecks(makeFacts({ inventory: { images: [image({ size: 2 * GB })] } }), { saveImages: false, archiveVolumes: false }), 'space-estimate')!;
    expect(e.details?.estimate).toMatchObject({ backupBytes: 1 * MB, loadScratchBytes: 0 });
  });

  it('estimates downtime from image, volume and container numbers', () => {
    const facts = makeFacts({
      inventory: {
        images: [image({ size: 1.5 * GB })],
        containers: [container(), container({ name: 'b', running: false, state: 'exited', sizeRw: 0 })],
        volumes: [volume({ size: 4 * GB })],
      },
    });
    const d = estimateDowntime(analyse(facts, resolvePreflightOptions()));
    const load = d.parts.find((p) => p.what.startsWith('load images'))!;
    expect(load.seconds).toBeCloseTo(10, 5); // 1.5 GB at 150 MB/s
    // One running container without a stop timeout of its own: the engine's 10 s; two to create, one wave to start.
    expect(d.parts.find((p) => p.what.startsWith('stop 1 running'))!.seconds).toBe(10);
    expect(d.parts.find((p) => p.what.startsWith('create 2 container(s), start 1 in 1 wave(s)'))!.seconds).toBe(2 + 1);
    expect(d.totalSeconds).toBeGreaterThan(10 + 10 + 3 + 30 + 20);
    const entry = find(preflightChecks(facts), 'downtime-estimate')!;
    expect(entry.summary).toMatch(/load images into the new driver \(1\.5 GB\): 10 s/);
    expect(entry.details?.totalSeconds).toBe(Math.round(d.totalSeconds));
    // Pre-staged, the images are loaded before the stop: not in the window, and the entry says why.
    const staged = estimateDowntime(analyse(facts, resolvePreflightOptions({ staged: true })));
    expect(staged.parts.some((p) => p.what.startsWith('load images'))).toBe(false);
    expect(staged.totalSeconds).toBeCloseTo(d.totalSeconds - 10, 5);
    expect(find(preflightChecks(facts, resolvePreflightOptions({ staged: true })), 'downtime-estimate')!.summary).toMatch(/nor the image loads: they are pre-staged before the stop/);
    // A run that decided not to stage: nothing said about staging. The preflight command decides nothing: the loads count, and it says so.
    expect(find(preflightChecks(facts, resolvePreflightOptions({ staged: false })), 'downtime-estimate')!.summary).not.toMatch(/stag/);
    expect(entry.summary).toMatch(/the image loads count: a run that pre-stages them \(staging: auto, where it can\) loads them before the stop, and the estimate it prints leaves them out/);
  });
});

describe('downtime estimate: containers stop in the waves the run stops them in', () => {
  const estimateFor = (containers: ContainerRecord[]) => estimateDowntime(analyse(makeFacts({ inventory: { containers } }), resolvePreflightOptions()));
  const stopPart = (containers: ContainerRecord[]) => estimateFor(containers).parts.find((p) => p.what.startsWith('stop '))!;
  const named = (name: string, partial: Partial<ContainerRecord> = {}) => container({ name, id: name.padEnd(64, '0'), ...partial });

  it('four containers that ignore SIGTERM, none depending on another: one wave, one default stop timeout (not four)', () => {
    const part = stopPart(['a', 'b', 'c', 'd'].map((name) => named(name)));
    expect(part.seconds).toBe(ENGINE_DEFAULT_STOP_TIMEOUT);
    expect(part.what).toBe('stop 4 running container(s) in 1 wave(s), each at most its longest stop timeout');
  });

  it("a wave costs its longest container's own stop timeout (Config.StopTimeout)", () => {
    expect(stopPart([named('a', { stopTimeout: 30 }), named('b', { stopTimeout: 2 })]).seconds).toBe(30);
    expect(stopPart([named('a', { stopTimeout: 2 }), named('b', { stopTimeout: 3 })]).seconds).toBe(3);
  });

  it('a dependent stops a wave before what it depends on: the waves add up', () => {
    const web = named('web', { links: ['/db:/web/db'], stopTimeout: 5 });
    const db = named('db', { stopTimeout: 20 });
    const part = stopPart([web, db]);
    expect(part.what).toMatch(/in 2 wave\(s\)/);
    expect(part.seconds).toBe(5 + 20);
  });

  it('stopped containers are created but neither stopped nor started; none at all: no container part', () => {
    const parts = estimateFor([named('a'), named('b', { running: false, state: 'exited' })]).parts;
    expect(parts.find((p) => p.what.startsWith('stop '))!.seconds).toBe(ENGINE_DEFAULT_STOP_TIMEOUT);
    expect(parts.find((p) => p.what.startsWith('create '))!.what).toBe('create 2 container(s), start 1 in 1 wave(s)');
    expect(estimateFor([]).parts.some((p) => /container/.test(p.what))).toBe(false);
  });
});

describe('supportsOverlaySize (dm.basesize becomes overlay2.size only there)', () => {
  const mount = base.dataRoot.mount!;
  it.each([
    ['xfs with prjquota', 'xfs', ['rw', 'prjquota'], true],
    ['xfs with pquota', 'xfs', ['rw', 'pquota'], true],
    ['xfs without project quotas', 'xfs', ['rw', 'uquota'], false],
    ['ext4 with prjquota', 'ext4', ['rw', 'prjquota'], false],
  ] as const)('%s: %s', (_name, fsType, options, expected) => {
    expect(supportsOverlaySize({ ...base.dataRoot, fsType, mount: { ...mount, fsType, options: [...options] } })).toBe(expected);
  });
  it('no mount known: false', () => {
    expect(supportsOverlaySize({ path: '/var/lib/docker', exists: true, fsType: 'xfs' })).toBe(false);
  });
});
