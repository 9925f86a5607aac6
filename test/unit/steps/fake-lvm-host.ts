/**
 * A fixture host whose LVM commands change an in-memory LVM, as the real tools do (vgremove -y
 * removes the logical volumes inside, which is how a wrong undo destroyed a host's pool), and
 * whose sysfs tree names the disks: vdb holds the host's own pool docker/thinpool (Docker's
 * documented names), vdc is the empty disk for the new pool.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandResult, RunOptions } from '../../../src/host/host.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';

export interface FakeDisk {
  kname: string;
  devno: string;
  sizeBytes: number;
  serial?: string;
  holders?: string[];
  /** Partitions (e.g. vdc1) and where each is mounted, if anywhere. */
  partitions?: { name: string; mountedAt?: string }[];
}

export interface FakeLvm {
  pvs: { name: string; vg: string }[];
  vgs: { name: string; tags: string[] }[];
  lvs: { vg: string; name: string; attr: string; tags: string[] }[];
}

/** The host's current pool, as Docker's direct-lvm guide builds it, on /dev/vdb. */
export function documentedPool(): FakeLvm {
  return {
    pvs: [{ name: '/dev/vdb', vg: 'docker' }],
    vgs: [{ name: 'docker', tags: [] }],
    lvs: [{ vg: 'docker', name: 'thinpool', attr: 'twi-aot---', tags: [] }],
  };
}

/** Writes the sysfs and /dev entries of the disks under a new fixture root. */
export function diskTree(disks: FakeDisk[], bootId = 'boot-1'): string {
  const root = mkdtempSync(join(tmpdir(), 'dmm-lvm-'));
  const put = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  put('proc/sys/kernel/random/boot_id', `${bootId}\n`);
  put('proc/mounts', 'sysfs /sys sysfs rw 0 0\n/dev/vda / ext4 rw 0 0\n');
  mkdirSync(join(root, 'dev/disk/by-id'), { recursive: true });
  for (const disk of disks) {
    put(`dev/${disk.kname}`, '');
    put(`sys/class/block/${disk.kname}/dev`, `${disk.devno}\n`);
    put(`sys/class/block/${disk.kname}/size`, `${disk.sizeBytes / 512}\n`);
    mkdirSync(join(root, `sys/class/block/${disk.kname}/holders`), { recursive: true });
    for (const holder of disk.holders ?? []) put(`sys/class/block/${disk.kname}/holders/${holder}`, '');
    for (const part of disk.partitions ?? []) {
      put(`sys/class/block/${disk.kname}/${part.name}/partition`, '1\n');
      if (part.mountedAt) writeFileSync(join(root, 'proc/mounts'), `/dev/${part.name} ${part.mountedAt} xfs rw 0 0\n`, { flag: 'a' });
    }
    if (disk.serial) {
      put(`sys/class/block/${disk.kname}/serial`, disk.serial);
      symlinkSync(`../../${disk.kname}`, join(root, `dev/disk/by-id/virtio-${disk.serial}`));
    }
  }
  return root;
}

export class FakeLvmHost extends FixtureHost {
  /** LVM commands that changed something, in order. */
  readonly changes: string[] = [];
  /** A command (by program) that fails, e.g. vgcreate. */
  failing?: string;

  constructor(
    root: string,
    readonly lvm: FakeLvm,
    devices: string[],
    busy: string[] = [],
  ) {
    super(root, { executables: ['lvs', 'vgs', 'pvs', 'pvcreate', 'vgcreate', 'lvcreate', 'lvconvert', 'lvchange', 'lvremove', 'vgremove', 'pvremove', 'wipefs', 'tee', 'blkid', 'lsblk'], blockDevices: devices, busyDevices: busy });
  }

  private readonly busy = new Set<string>();

  /** The kernel has the device in use from now on (claimExclusive fails with EBUSY). */
  busyDevice(device: string): void {
    this.busy.add(device);
  }

  override async claimExclusive(device: string): Promise<void> {
    if (this.busy.has(device)) throw Object.assign(new Error(`EBUSY: ${device}`), { code: 'EBUSY' });
    return super.claimExclusive(device);
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const ok = (stdout = ''): CommandResult => ({ command, args, exitCode: 0, stdout, stderr: '' });
    const fail = (stderr: string): CommandResult => ({ command, args, exitCode: 5, stdout: '', stderr });
    const report = args.includes('--noheadings');
    if (command === this.failing) return fail(`${command}: failed on purpose`);
    const a = [...args].filter((arg) => arg !== '-y' && arg !== '--yes');
    const tag = a.includes('--addtag') ? a[a.indexOf('--addtag') + 1]! : undefined;
    const words = a.filter((arg, i) => !arg.startsWith('-') && a[i - 1] !== '--addtag' && a[i - 1] !== '-n' && a[i - 1] !== '-l' && a[i - 1] !== '--wipesignatures');
    if (command !== 'lvs' && command !== 'vgs' && command !== 'pvs' && command !== 'tee') this.changes.push([command, ...args].join(' '));
    switch (command) {
      case 'vgs':
        return ok(this.lvm.vgs.map((vg) => `  ${vg.name}|${vg.tags.join(',')}\n`).join(''));
      case 'pvs':
        return ok(this.lvm.pvs.map((pv) => `  ${pv.name}|${pv.vg}\n`).join(''));
      case 'lvs':
        return report ? ok(this.lvm.lvs.map((lv) => `  ${lv.vg}|${lv.name}|${lv.attr}\n`).join('')) : ok('  LV VG Attr\n');
      case 'wipefs':
        return ok();
      case 'lvchange': {
        const [vg, name] = (words[0] ?? '').split('/');
        const lv = this.lvm.lvs.find((l) => l.vg === vg && l.name === name);
        if (lv && tag && !lv.tags.includes(tag)) lv.tags.push(tag);
        return ok();
      }
      case 'tee':
        await this.mkdir(dirname(words[0]!));
        await this.writeFile(words[0]!, options.input ?? '');
        return ok(options.input);
      case 'pvcreate': {
        if (this.lvm.pvs.some((pv) => pv.name === words[0] && pv.vg)) return fail(`Can't initialize physical volume "${words[0]}" of volume group`);
        if (!this.lvm.pvs.some((pv) => pv.name === words[0])) this.lvm.pvs.push({ name: words[0]!, vg: '' });
        return ok();
      }
      case 'vgcreate': {
        const [vg, device] = words;
        if (this.lvm.vgs.some((v) => v.name === vg)) return fail(`A volume group called ${vg} already exists.`);
        const pv = this.lvm.pvs.find((p) => p.name === device);
        if (!pv || pv.vg) return fail(`Physical volume ${device} not usable`);
        pv.vg = vg!;
        this.lvm.vgs.push({ name: vg!, tags: tag ? [tag] : [] });
        return ok();
      }
      case 'lvcreate': {
        const name = a[a.indexOf('-n') + 1]!;
        const vg = words[0]!;
        if (!this.lvm.vgs.some((v) => v.name === vg)) return fail(`Volume group "${vg}" not found`);
        if (this.lvm.lvs.some((lv) => lv.vg === vg && lv.name === name)) return fail(`Logical Volume "${name}" already exists in volume group "${vg}"`);
        this.lvm.lvs.push({ vg, name, attr: '-wi-a-----', tags: tag ? [tag] : [] });
        return ok();
      }
      case 'lvconvert': {
        const [vg, pool] = a[a.indexOf('--thinpool') + 1]!.split('/');
        const meta = a[a.indexOf('--poolmetadata') + 1]!.split('/')[1];
        this.lvm.lvs = this.lvm.lvs.filter((lv) => !(lv.vg === vg && lv.name === meta));
        const lv = this.lvm.lvs.find((l) => l.vg === vg && l.name === pool);
        if (!lv) return fail('no such LV');
        lv.attr = 'twi-a-tz--';
        // Like LVM: the pool is a new LV, without the data volume's tags.
        lv.tags = [];
        return ok();
      }
      case 'lvremove': {
        const [vg, name] = words[0]!.split('/');
        const before = this.lvm.lvs.length;
        this.lvm.lvs = this.lvm.lvs.filter((lv) => !(lv.vg === vg && lv.name === name));
        return before === this.lvm.lvs.length ? fail(`Failed to find logical volume "${words[0]}"`) : ok();
      }
      case 'vgremove': {
        const vg = words[0];
        if (!this.lvm.vgs.some((v) => v.name === vg)) return fail(`Volume group "${vg}" not found`);
        // -y answers LVM's "remove the logical volumes in it?" with yes.
        this.lvm.lvs = this.lvm.lvs.filter((lv) => lv.vg !== vg);
        this.lvm.vgs = this.lvm.vgs.filter((v) => v.name !== vg);
        for (const pv of this.lvm.pvs) if (pv.vg === vg) pv.vg = '';
        return ok();
      }
      case 'pvremove': {
        const pv = this.lvm.pvs.find((p) => p.name === words[0]);
        if (!pv) return fail(`No PV found on device ${words[0]}.`);
        if (pv.vg) return fail(`PV ${words[0]} is used by VG ${pv.vg}`);
        this.lvm.pvs = this.lvm.pvs.filter((p) => p !== pv);
        return ok();
      }
      default:
        return super.run(command, args, options);
    }
  }
}
