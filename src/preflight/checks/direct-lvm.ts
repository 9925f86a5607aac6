/** For a direct-lvm target: the LVM tools, and a device that is free to become the new pool. */
import { DEVICE_BLOCKERS } from '../../config/unwaivable-blockers.js';
import { flattenBlockDevice, LVM_TOOLS } from '../../facts/parse.js';
import { formatBytes } from '../../report/format.js';
import { splitDmName, type Analysis } from '../analysis.js';
import { entry, listText, type Check } from '../entry.js';

/** The volume group that holds the current pool, from its device-mapper name. */
function poolVg(a: Analysis): string | undefined {
  const name = a.pool?.poolName;
  if (!name || a.pool?.mode !== 'direct-lvm') return undefined;
  const fromLvs = a.host.lvm.lvs?.find((lv) => `${lv.vgName.replace(/-/g, '--')}-${lv.lvName.replace(/-/g, '--')}` === name);
  return fromLvs?.vgName ?? splitDmName(name)?.vg;
}


export const directLvmCheck: Check = {
  name: 'direct-lvm target device',
  keys: [...DEVICE_BLOCKERS, 'target-device-signature-unknown', 'target-device-too-small'],
  run(a: Analysis) {
    if (a.options.target !== 'direct-lvm') return [];
    const entries = [];
    const missing = LVM_TOOLS.filter((t) => !a.host.lvm.tools[t]);
    if (missing.length > 0) {
      entries.push(
        entry(
          'lvm-tools-missing',
          'blocker',
          'LVM tools are missing',
          `A direct-lvm pool is built with LVM, and ${listText(missing)} ${missing.length === 1 ? 'is' : 'are'} not installed.`,
          'Install LVM (`yum install lvm2` or `apt-get install lvm2`) and run preflight again.',
          { missing },
        ),
      );
    }
    const device = a.options.device;
    if (!device) {
      entries.push(
        entry(
          'target-device-not-given',
          'blocker',
          'No device for the direct-lvm pool',
          'The direct-lvm target needs a block device for the new thin pool, and none was given.',
          'Set directLvm.device in the answers file (e.g. /dev/sdb): a disk that holds nothing you need.',
        ),
      );
      return entries;
    }
    const fact = a.host.targetDevice;
    if (!fact || !fact.exists) {
      entries.push(
        entry(
          'target-device-not-found',
          'blocker',
          `${device} does not exist`,
          `The direct-lvm target device ${device} was not found on this machine.`,
          'Check the name with `lsblk` and set directLvm.device accordingly.',
        ),
      );
      return entries;
    }
    if (!fact.isBlockDevice) {
      entries.push(
        entry(
          'target-device-not-block-device',
          'blocker',
          `${device} is not a block device`,
          `${device}${fact.resolvedPath && fact.resolvedPath !== device ? ` (${fact.resolvedPath})` : ''} exists but is not a block device.`,
          'Name a disk or partition, as `lsblk -p` lists them.',
        ),
      );
    }
    if (fact.mountedAt.length > 0) {
      entries.push(
        entry(
          'target-device-mounted',
          'blocker',
          `${device} is in use`,
          `${device} (or a partition of it) is mounted or used as swap: ${listText(fact.mountedAt)}. Building a pool on it destroys that data.`,
          'Choose another device, or unmount it and remove it from /etc/fstab if its data is not needed.',
          { mountedAt: fact.mountedAt },
        ),
      );
    }
    if (fact.heldBy?.length) {
      entries.push(
        entry(
          'target-device-held',
          'blocker',
          `${device} is held by another device`,
          `${listText(fact.heldBy)}: a multipath map, RAID (md), dm-crypt or LVM volume is built on it. Building a pool on it destroys that device's data.`,
          'Choose another device; this blocker cannot be overridden.',
          { heldBy: fact.heldBy },
        ),
      );
    }
    const names = new Set([device, fact.resolvedPath, ...(fact.lsblk ? flattenBlockDevice(fact.lsblk).map((n) => n.name) : [])]);
    const currentVg = poolVg(a);
    const pvs = (a.host.lvm.pvs ?? []).filter((pv) => names.has(pv.pvName) && pv.vgName !== '');
    const loopFiles = Object.values(a.pool?.files ?? {});
    const inPool = pvs.filter((pv) => pv.vgName === currentVg);
    if (inPool.length > 0 || loopFiles.some((f) => names.has(f))) {
      entries.push(
        entry(
          'target-device-in-current-pool',
          'blocker',
          `${device} holds the current thin pool`,
          `${device} is ${inPool.length > 0 ? `a physical volume of ${currentVg}, the volume group of the current pool ${a.pool?.poolName}` : 'a backing device of the current loop-lvm pool'}. The old pool must stay intact until finalize: it is the rollback.`,
          'Choose a different, empty device for the new pool.',
          { device, volumeGroup: currentVg, pool: a.pool?.poolName },
        ),
      );
    } else if (pvs.length > 0) {
      entries.push(
        entry(
          'target-device-in-volume-group',
          'blocker',
          `${device} belongs to a volume group`,
          `${listText(pvs.map((pv) => `${pv.pvName} is in volume group ${pv.vgName}`))}. Building a pool on it would take it from that group.`,
          'Choose another device, or move its data off and remove it from the group (`pvmove`, `vgreduce`, `pvremove`) first.',
          { physicalVolumes: pvs },
        ),
      );
    }
    if (fact.signatures === undefined) {
      entries.push(
        entry(
          'target-device-signature-unknown',
          'warning',
          `Could not check ${device} for signatures`,
          `blkid could not probe ${device}, so existing filesystems or partition tables on it are unknown.`,
          `Check by hand with \`wipefs ${device}\` (lists, changes nothing).`,
        ),
      );
    } else if (fact.signatures.length > 0) {
      const found = fact.signatures.map((s) => s.type).join(', ');
      entries.push(
        entry(
          'target-device-has-signature',
          a.options.wipeSignatures ? 'warning' : 'blocker',
          a.options.wipeSignatures ? `${device} will be wiped` : `${device} is not empty`,
          a.options.wipeSignatures
            ? `${device} holds ${found}; wipeSignatures is on, so the run erases ${fact.signatures.length === 1 ? 'it' : 'them'} before creating the pool.`
            : `${device} holds ${found}. pvcreate would refuse it, as docker-storage-setup does: "Found ${fact.signatures[0]!.type} signature on device ${device}. Wipe signatures using wipefs or use WIPE_SIGNATURES=true and retry."`,
          a.options.wipeSignatures
            ? 'Make sure nothing on it is needed: it is erased for good.'
            : 'If its contents are not needed, set directLvm.wipeSignatures: true (or run `wipefs -a` yourself); otherwise choose another device.',
          { signatures: fact.signatures },
        ),
      );
    }
    const size = fact.lsblk?.sizeBytes;
    const needed = a.estimate.layersBytes + a.estimate.writableBytes;
    if (size !== undefined && (size * a.options.thinpoolPercent) / 100 < needed) {
      entries.push(
        entry(
          'target-device-too-small',
          'warning',
          `${device} may be too small`,
          `The pool would get ${a.options.thinpoolPercent}% of ${formatBytes(size)}; images and writable layers to restore take about ${formatBytes(needed)}.`,
          'Choose a larger device, or fewer images (images.exclude).',
          { sizeBytes: size, neededBytes: needed },
        ),
      );
    }
    return entries;
  },
};
