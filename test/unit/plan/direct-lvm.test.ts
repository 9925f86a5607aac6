import { describe, expect, it } from 'vitest';
import { directLvmCommands, directLvmStorageOpts, formatPoolCommand, poolNames, runPool, thinPoolProfile } from '../../../src/plan/direct-lvm.js';

const DOCS_DEFAULTS = { device: '/dev/xvdf', thinpoolPercent: 95, metadataPercent: 1, autoextendThreshold: 80, autoextendPercent: 20, wipeSignatures: false };

describe('directLvmCommands', () => {
  it("is Docker's documented sequence, in order, with its exact arguments", () => {
    const commands = directLvmCommands(DOCS_DEFAULTS);
    expect(commands.map((c) => c.argv)).toEqual([
      ['pvcreate', '/dev/xvdf'],
      ['vgcreate', 'docker', '/dev/xvdf'],
      ['lvcreate', '--wipesignatures', 'y', '-n', 'thinpool', 'docker', '-l', '95%VG'],
      ['lvcreate', '--wipesignatures', 'y', '-n', 'thinpoolmeta', 'docker', '-l', '1%VG'],
      ['lvconvert', '-y', '--zero', 'n', '-c', '512K', '--thinpool', 'docker/thinpool', '--poolmetadata', 'docker/thinpoolmeta'],
      ['tee', '/etc/lvm/profile/docker-thinpool.profile'],
      ['lvchange', '--metadataprofile', 'docker-thinpool', 'docker/thinpool'],
      ['lvs', '-o+seg_monitor'],
      ['lvchange', '--monitor', 'y', 'docker/thinpool'],
    ]);
    expect(commands[5]!.input).toBe('activation {\n  thin_pool_autoextend_threshold=80\n  thin_pool_autoextend_percent=20\n}\n');
    for (const command of commands) expect(command.why).not.toBe('');
    // Only the profile write takes input.
    expect(commands.filter((c) => c.input !== undefined)).toHaveLength(1);
  });

  it('uses the answers’ sizes and thresholds', () => {
    const commands = directLvmCommands({ ...DOCS_DEFAULTS, device: '/dev/sdb', thinpoolPercent: 90, metadataPercent: 2, autoextendThreshold: 70, autoextendPercent: 30 });
    expect(commands[2]!.argv.at(-1)).toBe('90%VG');
    expect(commands[3]!.argv.at(-1)).toBe('2%VG');
    expect(commands[5]!.input).toBe(thinPoolProfile({ autoextendThreshold: 70, autoextendPercent: 30 }));
    expect(commands[5]!.input).toContain('thin_pool_autoextend_threshold=70');
    expect(commands[0]!.argv).toEqual(['pvcreate', '/dev/sdb']);
  });

  it('wipes signatures first, and lets lvcreate wipe stale ones, only when allowed', () => {
    const commands = directLvmCommands({ ...DOCS_DEFAULTS, wipeSignatures: true });
    expect(commands[0]!.argv).toEqual(['wipefs', '--all', '/dev/xvdf']);
    expect(commands[1]!.argv).toEqual(['pvcreate', '/dev/xvdf']);
    expect(commands[3]!.argv).toEqual(['lvcreate', '--yes', '--wipesignatures', 'y', '-n', 'thinpool', 'docker', '-l', '95%VG']);
    expect(directLvmCommands(DOCS_DEFAULTS).some((c) => c.argv[0] === 'wipefs' || c.argv.includes('--yes'))).toBe(false);
  });
});

describe("a run's pool (issue 19, item 1)", () => {
  it('is named after the run, never docker/thinpool, and tags what it creates with the run', () => {
    const pool = runPool('20261207-003120-ab12');
    expect(pool).toEqual({ vg: 'dmmigrate_20261207_003120_ab12', pool: 'thinpool', tag: 'devmapper-migrate-run-20261207-003120-ab12' });
    const argv = directLvmCommands({ ...DOCS_DEFAULTS, ...pool }).map((c) => c.argv);
    expect(argv[1]).toEqual(['vgcreate', '--addtag', pool.tag, pool.vg, '/dev/xvdf']);
    expect(argv[2]).toEqual(['lvcreate', '--addtag', pool.tag, '--wipesignatures', 'y', '-n', 'thinpool', pool.vg, '-l', '95%VG']);
    expect(argv.flat().some((word) => word === 'docker' || word.startsWith('docker/'))).toBe(false);
    expect(directLvmStorageOpts(pool)[0]).toBe('dm.thinpooldev=/dev/mapper/dmmigrate_20261207_003120_ab12-thinpool');
  });
});

describe('the pool in daemon.json', () => {
  it("is Docker's documented storage-opts", () => {
    expect(directLvmStorageOpts()).toEqual(['dm.thinpooldev=/dev/mapper/docker-thinpool', 'dm.use_deferred_removal=true', 'dm.use_deferred_deletion=true']);
  });

  it('doubles dashes in the device-mapper name, as LVM does', () => {
    expect(poolNames({ vg: 'docker-vg', pool: 'thin-pool' }).mapperDevice).toBe('/dev/mapper/docker--vg-thin--pool');
  });
});

describe('formatPoolCommand', () => {
  it('prints a command as a shell line, the profile as a here-document', () => {
    const commands = directLvmCommands(DOCS_DEFAULTS);
    expect(formatPoolCommand(commands[2]!)).toBe('lvcreate --wipesignatures y -n thinpool docker -l 95%VG');
    expect(formatPoolCommand(commands[5]!)).toBe(
      "tee /etc/lvm/profile/docker-thinpool.profile <<'EOF'\nactivation {\n  thin_pool_autoextend_threshold=80\n  thin_pool_autoextend_percent=20\n}\nEOF",
    );
    expect(formatPoolCommand({ argv: ['echo', 'a b', "it's"], why: '' })).toBe(`echo 'a b' 'it'\\''s'`);
  });
});
