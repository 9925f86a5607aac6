/** Whether the data-root's filesystem and the kernel can carry overlay2. */
import { needsOverlay2KernelOverride, OVERRIDE_KERNEL_CHECK } from '../../config/daemon-config-rewrite.js';
import { daemonJsonStorage } from '../../config/daemon-json.js';
import type { FilesystemFact } from '../../facts/types.js';
import type { Analysis } from '../analysis.js';
import { entry, type Check } from '../entry.js';

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
  /** RHEL/CentOS build number: 1160 in "3.10.0-1160.el7.x86_64". */
  build?: number;
  el?: number;
}

/** "3.10.0-1160.el7.x86_64" → 3.10.0, build 1160, el 7. */
export function parseKernelRelease(release: string): KernelVersion | undefined {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?/.exec(release);
  if (!match) return undefined;
  const el = /\.el(\d+)/.exec(release)?.[1];
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3] ?? 0),
    build: match[4] ? Number(match[4]) : undefined,
    el: el ? Number(el) : undefined,
  };
}

function atLeast(k: KernelVersion, major: number, minor: number): boolean {
  return k.major > major || (k.major === major && k.minor >= minor);
}

/** overlay2 needs 4.0, or RHEL/CentOS 7.3's backport (3.10.0-514). */
export function kernelSupportsOverlay2(k: KernelVersion): boolean {
  return atLeast(k, 4, 0) || (k.major === 3 && k.minor === 10 && k.el === 7 && (k.build ?? 0) >= 514);
}

/** SELinux with overlay needs the copy-up hooks of 4.8, or RHEL/CentOS 7.4's backport (3.10.0-693). */
export function kernelSupportsOverlaySelinux(k: KernelVersion): boolean {
  return atLeast(k, 4, 8) || (k.major === 3 && k.minor === 10 && k.el === 7 && (k.build ?? 0) >= 693);
}

/** Filesystems overlay2 refuses as a backing filesystem (moby's overlay2 driver, and the kernel for network filesystems). */
const INCOMPATIBLE_FS = ['aufs', 'zfs', 'overlay', 'ecryptfs', 'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ceph', 'glusterfs'];

function overlayTarget(a: Analysis): boolean {
  return a.options.target === 'overlay2' && !a.alreadyOnTarget;
}

export const kernelCheck: Check = {
  name: 'kernel for overlay2',
  keys: ['kernel-too-old-for-overlay2', 'overlay-module-missing', 'selinux-overlay2-unsupported', 'overlay2-kernel-check-override'],
  run(a: Analysis) {
    if (!overlayTarget(a) || !a.kernelRelease) return [];
    const entries = [];
    const k = parseKernelRelease(a.kernelRelease);
    if (k && kernelSupportsOverlay2(k) && needsOverlay2KernelOverride(a.daemon.serverVersion, a.kernelRelease)) {
      entries.push(
        entry(
          'overlay2-kernel-check-override',
          'warning',
          `Docker ${a.daemon.serverVersion} needs ${OVERRIDE_KERNEL_CHECK} on kernel ${a.kernelRelease}`,
          `Docker 17.03 to 17.11 refuse overlay2 on a kernel below 4.0 ("error initializing graphdriver: driver not supported") unless the storage option ${OVERRIDE_KERNEL_CHECK} is set, although this kernel carries overlay2. ` +
            `The run writes it into the storage-opts of daemon.json. Docker Engine 24 and newer refuse the option: remove it when you upgrade the engine.`,
          `Nothing to do before the run. Before upgrading to Docker Engine 24 or newer, remove "${OVERRIDE_KERNEL_CHECK}" from storage-opts in daemon.json.`,
          { serverVersion: a.daemon.serverVersion, release: a.kernelRelease, storageOpt: OVERRIDE_KERNEL_CHECK },
        ),
      );
    }
    if (k && !kernelSupportsOverlay2(k)) {
      entries.push(
        entry(
          'kernel-too-old-for-overlay2',
          'blocker',
          `Kernel ${a.kernelRelease} cannot run overlay2`,
          `overlay2 needs Linux 4.0 or later, or a RHEL/CentOS 7.3+ kernel (3.10.0-514 or later). On this kernel dockerd stops with "error initializing graphdriver: driver not supported".`,
          'Update the kernel (on RHEL/CentOS 7: `yum update kernel`, then reboot) and run preflight again.',
          { release: a.kernelRelease },
        ),
      );
    }
    if (!a.host.kernel.overlayAvailable && (!k || kernelSupportsOverlay2(k))) {
      entries.push(
        entry(
          'overlay-module-missing',
          'warning',
          'No overlay filesystem found in the kernel',
          `${a.host.kernel.overlayEvidence}. dockerd loads the module when overlay2 starts; if it is missing, overlay2 fails with "driver not supported".`,
          'Check with `modprobe overlay && grep overlay /proc/filesystems`.',
        ),
      );
    }
    const selinux = a.daemon.securityOptions.some((o) => o.includes('name=selinux') || o === 'selinux');
    if (selinux && k && kernelSupportsOverlay2(k) && !kernelSupportsOverlaySelinux(k)) {
      entries.push(
        entry(
          'selinux-overlay2-unsupported',
          'blocker',
          'SELinux and overlay2 need a newer kernel',
          `dockerd runs with SELinux enabled, and kernel ${a.kernelRelease} lacks overlay's SELinux support (4.8, or RHEL/CentOS 7.4's 3.10.0-693). dockerd would stop with: "SELinux is not supported with the overlay2 graph driver on this kernel. Either boot into a newer kernel or disable selinux in docker (--selinux-enabled=false)".`,
          'Update the kernel to RHEL/CentOS 7.4 or later and reboot, or drop --selinux-enabled (weakens container isolation).',
          { release: a.kernelRelease },
        ),
      );
    }
    return entries;
  },
};

export const backingFsCheck: Check = {
  name: 'data-root filesystem for overlay2',
  keys: ['data-root-filesystem', 'data-root-filesystem-unsupported', 'data-root-no-dtype', 'data-root-dtype-unknown'],
  run(a: Analysis) {
    if (!overlayTarget(a)) return [];
    const root = a.host.dataRoot;
    const fsType = root.fsType ?? 'unknown';
    const entries = [];
    const on = root.mount ? ` (${root.mount.device} on ${root.mount.mountPoint})` : '';
    entries.push(
      entry(
        'data-root-filesystem',
        'info',
        `Data-root filesystem: ${fsType}`,
        `${root.path} is on ${fsType}${on}; d_type: ${root.dType.supported === undefined ? 'unknown' : root.dType.supported ? 'yes' : 'no'} (${root.dType.evidence}).`,
        undefined,
        { path: root.path, fsType, mount: root.mount, dType: root.dType },
      ),
    );
    const incompatible = INCOMPATIBLE_FS.includes(fsType) || fsType.startsWith('fuse');
    if (incompatible) {
      entries.push(
        entry(
          'data-root-filesystem-unsupported',
          'blocker',
          `overlay2 cannot use ${fsType} as its backing filesystem`,
          `${root.path} is on ${fsType}${on}, which overlay2 does not support as a backing filesystem; dockerd would stop with "error initializing graphdriver: driver not supported".`,
          'Put the data-root on xfs (formatted with ftype=1) or ext4: mount such a filesystem at the data-root, or set data-root in daemon.json before the run.',
          { fsType },
        ),
      );
      return entries;
    }
    if (root.dType.supported === false) {
      const xfs = root.dType.xfsFtype === 0;
      entries.push(
        entry(
          'data-root-no-dtype',
          'blocker',
          xfs ? `The data-root's xfs was formatted with ftype=0` : `The data-root's filesystem has no d_type`,
          `${root.path} is on ${fsType}${on} without d_type (${root.dType.evidence}). dockerd would refuse overlay2: "overlay2: the backing xfs filesystem is formatted without d_type support, which leads to incorrect behavior. Reformat the filesystem with ftype=1 to enable d_type support. Backing filesystems without d_type support are not supported."`,
          xfs
            ? 'ftype cannot be changed in place: give the data-root a new filesystem made with `mkfs.xfs -n ftype=1`, mounted at the data-root (or set data-root in daemon.json to a directory on it) before the run.'
            : 'Give the data-root a filesystem with d_type (ext4 with the filetype feature, or xfs with ftype=1) before the run.',
          { dType: root.dType },
        ),
      );
    } else if (root.dType.supported === undefined) {
      entries.push(
        entry(
          'data-root-dtype-unknown',
          'warning',
          'Could not tell whether the data-root has d_type',
          `${root.path} is on ${fsType}${on}; ${root.dType.evidence}. Without d_type overlay2 refuses to start.`,
          fsType === 'xfs'
            ? `Check with \`xfs_info ${root.mount?.mountPoint ?? root.path} | grep ftype\`: ftype=1 is needed.`
            : 'Check that the filesystem reports d_type (xfs: ftype=1; ext4: the filetype feature in `tune2fs -l`).',
        ),
      );
    }
    return entries;
  },
};

/**
 * Whether overlay2 can limit a container's size here (overlay2.size): only on an xfs data-root
 * mounted with project quotas; anywhere else dockerd refuses to start with the option.
 */
export function supportsOverlaySize(dataRoot: FilesystemFact): boolean {
  return dataRoot.fsType === 'xfs' && mountedWithProjectQuota(dataRoot);
}

function mountedWithProjectQuota(fs: FilesystemFact): boolean {
  return (fs.mount?.options ?? []).some((o) => o === 'pquota' || o === 'prjquota');
}

/** dm.basesize=N wherever it is set: daemon.json or an active flag. */
function baseSize(a: Analysis): { value: string; where: string } | undefined {
  const parse = a.daemonJson.parse;
  const fromFile = parse?.ok ? daemonJsonStorage(parse.value).storageOpts.find((o) => o.startsWith('dm.basesize=')) : undefined;
  if (fromFile) return { value: fromFile.slice('dm.basesize='.length), where: a.daemonJson.path };
  for (const place of a.places) {
    if (!place.active) continue;
    const flag = place.flags.find((f) => f.setting === 'storage-opts' && f.value.startsWith('dm.basesize='));
    if (flag) return { value: flag.value.slice('dm.basesize='.length), where: place.path };
  }
  return undefined;
}

export const baseSizeCheck: Check = {
  name: 'dm.basesize and overlay2.size',
  keys: ['dm-basesize-size-limit'],
  run(a: Analysis) {
    if (!overlayTarget(a)) return [];
    const size = baseSize(a);
    if (!size) return [];
    const root = a.host.dataRoot;
    if (supportsOverlaySize(root)) {
      return [
        entry(
          'dm-basesize-size-limit',
          'info',
          'Container size limit carries over as overlay2.size',
          `dm.basesize=${size.value} (${size.where}) limits each container's filesystem. The data-root is on xfs mounted with project quotas, so the run writes overlay2.size=${size.value} into daemon.json's storage-opts and keeps that limit.`,
          size.where === a.daemonJson.path
            ? 'Nothing to do. To drop the limit instead, remove overlay2.size from daemon.json after the run.'
            : `The flag in ${size.where} is removed, not translated: add "overlay2.size=${size.value}" to storage-opts in daemon.json after the run to keep the limit.`,
          { basesize: size.value, where: size.where },
        ),
      ];
    }
    const xfs = root.fsType === 'xfs';
    const pquota = mountedWithProjectQuota(root);
    return [
      entry(
        'dm-basesize-size-limit',
        'warning',
        'Containers lose their size limit on overlay2',
        `dm.basesize=${size.value} (${size.where}) limits each container's filesystem under devicemapper. overlay2 limits size only with overlay2.size, which needs ${xfs ? 'the xfs data-root mounted with pquota' : 'an xfs data-root mounted with pquota'}; here dockerd would say "Storage option overlay2.size not supported. Filesystem does not support Project Quota". After the run containers can grow until the filesystem is full.`,
        xfs
          ? 'To keep a limit: mount the data-root with `pquota` (for /, add rootflags=pquota to the kernel command line), reboot, then set overlay2.size after the run.'
          : 'To keep a limit, put the data-root on xfs mounted with pquota, then set overlay2.size after the run; otherwise watch containers\' disk use.',
        { basesize: size.value, where: size.where, fsType: root.fsType, pquota },
      ),
    ];
  },
};

export const mixedDriversCheck: Check = {
  name: 'several driver directories',
  keys: ['data-root-mixed-drivers'],
  run(a: Analysis) {
    const dirs = a.host.dataRoot.driverDirs;
    if (dirs.length < 2 || a.alreadyOnTarget) return [];
    return [
      entry(
        'data-root-mixed-drivers',
        'warning',
        'The data-root holds data of several storage drivers',
        `${a.daemon.dockerRootDir} has ${dirs.join(', ')} directories with content; dockerd in use: ${a.daemon.driver}. Without an explicit driver dockerd stops with "${a.daemon.dockerRootDir} contains several valid graphdrivers: ${dirs.join(', ')}; cleanup or explicitly choose storage driver (-s <DRIVER>)". The others are probably left from an earlier attempt.`,
        'Check what the other directories hold; the run moves the whole data-root aside and starts the target driver on an empty one.',
        { driverDirs: dirs },
      ),
    ];
  },
};
