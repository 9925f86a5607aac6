/**
 * The direct-lvm thin pool, built exactly as Docker's documentation does it ("Configure
 * direct-lvm mode manually", docs.docker.com/engine/storage/drivers/device-mapper-driver/):
 * pvcreate, vgcreate, two lvcreate --wipesignatures y, lvconvert to a thin pool, an LVM profile
 * for autoextension, lvchange --metadataprofile, lvs -o+seg_monitor, lvchange --monitor y.
 * Pure: the step runs these commands in order and `run --dry-run` prints them.
 */

export interface DirectLvmOptions {
  /** The block device, e.g. /dev/sdb. Checked by preflight (not mounted, not in a VG, no signature unless wiped). */
  device: string;
  vg?: string;
  pool?: string;
  /** An LVM tag put on the volume group and volumes the run creates: undo removes only what carries it. */
  tag?: string;
  /** Data LV size, % of the VG (Docker's docs: 95). */
  thinpoolPercent: number;
  /** Metadata LV size, % of the VG (Docker's docs: 1). */
  metadataPercent: number;
  /** Pool usage (%) at which LVM extends it (Docker's docs: 80; 100 disables). */
  autoextendThreshold: number;
  /** How much (%) LVM adds when it extends (Docker's docs: 20). */
  autoextendPercent: number;
  /** Wipe existing signatures (filesystem, partition table, old LVM) off the device first. */
  wipeSignatures: boolean;
}

/** An LVM object (or the profile file) a command creates: journalled once it exists, undone by kind. */
export interface PoolObject {
  kind: 'pv' | 'vg' | 'lv' | 'thin-pool' | 'profile';
  /** The device (pv), the VG name (vg), the LV name (lv, thin-pool) or the file (profile). */
  name: string;
}

/** One command of the sequence; `input` is fed to its standard input (the profile file's text). */
export interface PoolCommand {
  argv: string[];
  why: string;
  input?: string;
  creates?: PoolObject;
}

/** LVM's profile directory (lvm.conf: config/profile_dir). */
export const LVM_PROFILE_DIR = '/etc/lvm/profile';

/**
 * The pool of one run: a volume group named after the run (never Docker's documented `docker`,
 * which the host's current pool most likely uses: that pool is the rollback until finalize),
 * and the run's LVM tag. E.g. run 20261207-003120-ab12 builds
 * dmmigrate_20261207_003120_ab12/thinpool, /dev/mapper/dmmigrate_20261207_003120_ab12-thinpool.
 */
export function runPool(runId: string): Required<Pick<DirectLvmOptions, 'vg' | 'pool' | 'tag'>> {
  return { vg: `dmmigrate_${runId.replace(/[^A-Za-z0-9]/g, '_')}`, pool: 'thinpool', tag: runTag(runId) };
}

/** The LVM tag of a run's objects (LVM allows letters, digits and _+.-/=!:&# in tags). */
export function runTag(runId: string): string {
  return `devmapper-migrate-run-${runId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** The LVM names of the pool: volume group, pool LV, metadata LV, profile, and the device dockerd uses. */
export function poolNames(options: Pick<DirectLvmOptions, 'vg' | 'pool'> = {}) {
  const vg = options.vg ?? 'docker';
  const pool = options.pool ?? 'thinpool';
  const profile = `${vg}-${pool}`;
  return {
    vg,
    pool,
    meta: `${pool}meta`,
    profile,
    profilePath: `${LVM_PROFILE_DIR}/${profile}.profile`,
    /** device-mapper doubles the dashes inside VG and LV names. */
    mapperDevice: `/dev/mapper/${vg.replace(/-/g, '--')}-${pool.replace(/-/g, '--')}`,
  };
}

/** The LVM profile that makes the pool extend itself (Docker's docs, step 9). */
export function thinPoolProfile(options: Pick<DirectLvmOptions, 'autoextendThreshold' | 'autoextendPercent'>): string {
  return [
    'activation {',
    `  thin_pool_autoextend_threshold=${options.autoextendThreshold}`,
    `  thin_pool_autoextend_percent=${options.autoextendPercent}`,
    '}',
    '',
  ].join('\n');
}

/** The commands that build the pool, in order, each with the reason it is there. */
export function directLvmCommands(options: DirectLvmOptions): PoolCommand[] {
  const n = poolNames(options);
  const commands: PoolCommand[] = [];
  // lvcreate asks before wiping a stale signature it finds inside the new volume, and a
  // question without a terminal is a "no": answer it only when the operator allowed wiping.
  const yes = options.wipeSignatures ? ['--yes'] : [];
  if (options.wipeSignatures) {
    commands.push({
      argv: ['wipefs', '--all', options.device],
      why: `Wipe the old signatures off ${options.device} (wipeSignatures: true); pvcreate would otherwise stop at them`,
    });
  }
  const tag = options.tag ? ['--addtag', options.tag] : [];
  commands.push(
    { argv: ['pvcreate', options.device], why: `Make ${options.device} an LVM physical volume`, creates: { kind: 'pv', name: options.device } },
    { argv: ['vgcreate', ...tag, n.vg, options.device], why: `Create the "${n.vg}" volume group on it`, creates: { kind: 'vg', name: n.vg } },
    {
      argv: ['lvcreate', ...yes, ...tag, '--wipesignatures', 'y', '-n', n.pool, n.vg, '-l', `${options.thinpoolPercent}%VG`],
      why: `Create the data volume (${options.thinpoolPercent}% of the group; the rest leaves room to extend)`,
      creates: { kind: 'lv', name: n.pool },
    },
    {
      argv: ['lvcreate', ...yes, ...tag, '--wipesignatures', 'y', '-n', n.meta, n.vg, '-l', `${options.metadataPercent}%VG`],
      why: `Create the metadata volume (${options.metadataPercent}% of the group)`,
      creates: { kind: 'lv', name: n.meta },
    },
    {
      argv: ['lvconvert', '-y', '--zero', 'n', '-c', '512K', '--thinpool', `${n.vg}/${n.pool}`, '--poolmetadata', `${n.vg}/${n.meta}`],
      why: 'Convert the two volumes into a thin pool (512K chunks, no zeroing, as Docker recommends)',
      creates: { kind: 'thin-pool', name: n.pool },
    },
    // lvconvert makes a new LV of the pool: the data volume's tag does not carry over.
    ...(options.tag ? [{ argv: ['lvchange', '--addtag', options.tag, `${n.vg}/${n.pool}`], why: 'Tag the pool with the run, as the volumes were' }] : []),
    {
      argv: ['tee', n.profilePath],
      input: thinPoolProfile(options),
      why: `Write the LVM profile: extend the pool by ${options.autoextendPercent}% when it is ${options.autoextendThreshold}% full`,
      creates: { kind: 'profile', name: n.profilePath },
    },
    {
      argv: ['lvchange', '--metadataprofile', n.profile, `${n.vg}/${n.pool}`],
      why: 'Apply the profile to the pool',
    },
    {
      argv: ['lvs', '-o+seg_monitor'],
      why: 'Show whether the pool is monitored (autoextension happens only when it is)',
    },
    {
      argv: ['lvchange', '--monitor', 'y', `${n.vg}/${n.pool}`],
      why: 'Turn monitoring on, so the profile takes effect',
    },
  );
  return commands;
}

/** daemon.json storage-opts for the new pool (Docker's docs, step 13). */
export function directLvmStorageOpts(options: Pick<DirectLvmOptions, 'vg' | 'pool'> = {}): string[] {
  return [`dm.thinpooldev=${poolNames(options).mapperDevice}`, 'dm.use_deferred_removal=true', 'dm.use_deferred_deletion=true'];
}

/** A command as one shell-readable line for `--dry-run` and the log (the profile as a here-document). */
export function formatPoolCommand(command: PoolCommand): string {
  const line = command.argv.map(shellQuote).join(' ');
  if (command.input === undefined) return line;
  return `${line} <<'EOF'\n${command.input}EOF`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
