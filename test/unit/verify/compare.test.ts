// The pure comparison of verify on small hand-made hosts: a faithful migration is clean, and
// each single change is named exactly (object, field, before → after), and nothing else.
import { describe, expect, it } from 'vitest';
import type { ContainerInspect } from '../../../src/docker/create-spec.js';
import type { ReportEntry } from '../../../src/report/entry.js';
import type { VerifyExpectation } from '../../../src/record/run-files.js';
import { compareHost, MAX_FILE_ENTRIES_PER_VOLUME, treeDifferences, type CurrentHost } from '../../../src/verify/compare.js';
import type { RecordedTreeEntry, RecordedVolumeTrees } from '../../../src/verify/types.js';
import { cleanConfig, IMAGE_ID, migrated, network, OTHER_IMAGE_ID, recorded, volume } from './helpers.js';
import { copyJson } from '../../../src/json-copy.js';

const TO_OVERLAY2: VerifyExpectation = { driver: 'overlay2', configMustBeClean: true };

const blockers = (entries: ReportEntry[]) => entries.filter((e) => e.severity === 'blocker');

function verify(current: CurrentHost, expectation = TO_OVERLAY2, volumeTrees?: RecordedVolumeTrees) {
  return compareHost({ recorded: recorded(), expect: expectation, current, volumeTrees, checkedAt: '2024-01-02T00:00:00.000Z' });
}

/** The single blocker of a result (fails when there are none or several). */
function only(current: CurrentHost, expectation = TO_OVERLAY2): ReportEntry {
  const result = verify(current, expectation);
  const found = blockers(result.entries);
  expect(found.map((e) => `${e.key}: ${e.summary}`)).toHaveLength(1);
  expect(result.differences).toBe(1);
  return found[0]!;
}

describe('compareHost', () => {
  it('finds no difference after a faithful migration (new IDs, endpoints, MACs, volume paths)', () => {
    const result = verify(migrated());
    expect(blockers(result.entries)).toEqual([]);
    expect(result.entries.filter((e) => e.severity === 'warning')).toEqual([]);
    expect(result.differences).toBe(0);
    expect(result.entries.map((e) => e.key)).toEqual([
      'verify-summary-driver',
      'verify-summary-config',
      'verify-summary-images',
      'verify-summary-networks',
      'verify-summary-volumes',
      'verify-summary-containers',
    ]);
    expect(result.checked).toMatchObject({ images: 2, tags: 2, containers: 2, networks: 1, volumes: 1, configFiles: 3 });
    expect(result.entries.find((e) => e.key === 'verify-summary-containers')!.summary).toMatch(/^2 of 2 included containers/);
  });

  it('takes the network mode "default" as "bridge": Engine 25+ reads a "default" container back as "bridge"', () => {
    const before = recorded();
    before.inspects.find((i) => i.Name === '/web')!.HostConfig.NetworkMode = 'default';
    const onEngine26 = migrated((i) => (i.HostConfig.NetworkMode = 'bridge'));
    const result = compareHost({ recorded: before, expect: TO_OVERLAY2, current: onEngine26, checkedAt: '2024-01-02T00:00:00.000Z' });
    expect(blockers(result.entries).map((e) => e.summary)).toEqual([]);
    // A real change of mode is still named.
    const toHost = compareHost({ recorded: before, expect: TO_OVERLAY2, current: migrated((i) => (i.HostConfig.NetworkMode = 'host')), checkedAt: '2024-01-02T00:00:00.000Z' });
    expect(blockers(toHost.entries).map((e) => e.summary)).toContain('Container "web", network mode "bridge" → "host".');
  });

  it('names a changed label with its old and new value', () => {
    const entry = only(migrated((i) => (i.Config.Labels!.tier = 'back')));
    expect(entry.key).toBe('verify-container-label');
    expect(entry.severity).toBe('blocker');
    expect(entry.summary).toBe('Container "web", label "tier": "front" → "back".');
    expect(entry.details).toMatchObject({ kind: 'container', container: 'web', field: 'label', item: 'tier', before: 'front', after: 'back' });
  });

  it('names an environment variable that changed without printing its value', () => {
    const result = verify(migrated((i) => (i.Config.Env = ['PATH=/bin', 'SECRET=other'])));
    expect(blockers(result.entries).map((e) => e.summary)).toEqual(['Container "web", environment variable "SECRET": value changed.']);
    const json = JSON.stringify(result);
    expect(json).not.toContain('hunter2');
    expect(json).not.toContain('other');
  });

  it('ignores the short-ID alias and the dynamic address, but not a lost alias or static address', () => {
    const lostAlias = only(migrated((i) => (i.NetworkSettings!.Networks!.appnet!.Aliases = ['2'.repeat(12)])));
    expect(lostAlias.key).toBe('verify-container-network');
    expect(lostAlias.summary).toBe('Container "web", network "appnet", aliases: web → none.');

    const dynamic = only(
      migrated((i) => {
        i.NetworkSettings!.Networks!.appnet!.IPAMConfig = null;
        i.NetworkSettings!.Networks!.appnet!.IPAddress = '10.1.0.2';
      }),
    );
    expect(dynamic.summary).toBe('Container "web", network "appnet", static IPv4 address: 10.1.0.10 → none (dynamic).');

    const disconnected = only(migrated((i) => (i.NetworkSettings!.Networks = {})));
    expect(disconnected.summary).toBe('Container "web", network "appnet": no longer connected.');
  });

  it('names restart policy, memory limit, port, mount, state and command changes, each on its own', () => {
    const cases: [(i: ContainerInspect) => void, string, string][] = [
      [(i) => (i.HostConfig.RestartPolicy = { Name: 'always', MaximumRetryCount: 0 }), 'verify-container-restart-policy', 'restart policy "unless-stopped" → "always"'],
      [(i) => (i.HostConfig.Memory = 0), 'verify-container-resources', 'resource limit Memory 67108864 → none'],
      [(i) => (i.HostConfig.PortBindings = { '80/tcp': [{ HostIp: '', HostPort: '8080' }] }), 'verify-container-ports', 'port "80/tcp": 127.0.0.1:8080 → :8080'],
      [(i) => (i.Mounts![1]!.RW = true), 'verify-container-mount', 'mount at "/config": bind /etc/app (read-only) → bind /etc/app'],
      [(i) => (i.Mounts![0]!.Name = 'data2'), 'verify-container-mount', 'mount at "/data": volume data → volume data2'],
      [(i) => (i.State = { Status: 'exited', Running: false }), 'verify-container-state', 'state running → not running'],
      [(i) => (i.Config.Cmd = ['sleep', '10']), 'verify-container-command', 'command ["sleep","3600"] → ["sleep","10"]'],
      [(i) => (i.Config.Entrypoint = ['/init']), 'verify-container-entrypoint', 'entrypoint none → ["/init"]'],
      [(i) => (i.Config.WorkingDir = '/'), 'verify-container-working-dir', 'working dir "/srv" → "/"'],
      [(i) => (i.Config.User = 'nobody'), 'verify-container-user', 'user "" → "nobody"'],
      [(i) => (i.Image = OTHER_IMAGE_ID), 'verify-container-image', 'image aaaaaaaaaaaa → bbbbbbbbbbbb'],
      [(i) => (i.HostConfig.PidsLimit = 64), 'verify-container-resources', 'resource limit PidsLimit none → 64'],
    ];
    for (const [change, key, summary] of cases) {
      const entry = only(migrated(change));
      expect(entry.key).toBe(key);
      expect(entry.summary).toBe(`Container "web", ${summary}.`);
    }
  });

  it('takes the unset spellings of limits as equal (null, 0, -1 pids limit)', () => {
    expect(verify(migrated((i) => (i.HostConfig.PidsLimit = -1))).differences).toBe(0);
    expect(verify(migrated((i) => (i.HostConfig.PidsLimit = 0))).differences).toBe(0);
    expect(verify(migrated((i) => delete i.HostConfig.NanoCpus)).differences).toBe(0);
  });

  it('compares container: network modes by name, across new IDs', () => {
    const current = migrated();
    current.inspects[1]!.HostConfig.NetworkMode = `container:${'9'.repeat(64)}`;
    current.inventory.containers.push({ ...current.inventory.containers[0]!, id: '9'.repeat(64), name: 'other' });
    const entry = only(current);
    expect(entry.summary).toBe('Container "side", network mode "container:web" → "container:other".');
  });

  it('reports a missing container, and an image reference replaced by its ID only as a warning', () => {
    const current = migrated();
    current.inspects.splice(1, 1);
    expect(only(current).summary).toBe('Container "side" does not exist on the host.');

    const byId = verify(migrated((i) => (i.Config.Image = IMAGE_ID)));
    expect(byId.differences).toBe(0);
    expect(byId.entries.filter((e) => e.severity === 'warning').map((e) => e.key)).toEqual(['verify-container-image-reference']);
  });

  it('names a missing image and a missing tag (and where the tag went)', () => {
    const gone = migrated();
    gone.inventory.images = gone.inventory.images.filter((i) => i.id !== OTHER_IMAGE_ID);
    expect(only(gone).key).toBe('verify-image-missing');

    // Moved to another image: named once, where it went missing (not again as a tag that was not there).
    const moved = migrated();
    moved.inventory.images[0]!.tags = ['app:1'];
    moved.inventory.images[1]!.tags = ['app:latest'];
    const entry = only(moved);
    expect(entry.key).toBe('verify-image-tag');
    expect(entry.summary).toBe('Image aaaaaaaaaaaa no longer has the tag "app:latest"; it points to image bbbbbbbbbbbb.');
  });

  it('names network IPAM, flag and label differences, and a missing network', () => {
    const withSubnet = (subnet: string) => {
      const current = migrated();
      current.inventory.networks = [network({ ipam: { driver: 'default', options: {}, config: [{ subnet, gateway: '10.1.0.1' }] } })];
      return current;
    };
    expect(only(withSubnet('10.9.0.0/24')).summary).toBe(
      'Network "appnet", IPAM pools subnet 10.1.0.0/24 gateway 10.1.0.1 → subnet 10.9.0.0/24 gateway 10.1.0.1.',
    );
    const internal = migrated();
    internal.inventory.networks = [network({ internal: true })];
    expect(only(internal).key).toBe('verify-network-flags');
    const label = migrated();
    label.inventory.networks = [network({ labels: {} })];
    expect(only(label).summary).toBe('Network "appnet", label "net.l": removed (was "1").');
    const gone = migrated();
    gone.inventory.networks = [];
    expect(only(gone).key).toBe('verify-network-missing');
  });

  it('takes a subnet-only pool as the same pool with dockerd’s default gateway filled in (after a restart)', () => {
    const subnetOnly = (gateway?: string) => network({ ipam: { driver: 'default', options: {}, config: [{ subnet: '172.28.5.0/24', ...(gateway && { gateway }) }] } });
    const before = recorded();
    before.inventory.networks = [subnetOnly()];
    const after = migrated();
    after.inventory.networks = [subnetOnly('172.28.5.1')];
    const result = compareHost({ recorded: before, expect: TO_OVERLAY2, current: after });
    expect(blockers(result.entries)).toEqual([]);
    after.inventory.networks = [subnetOnly('172.28.5.254')];
    expect(blockers(compareHost({ recorded: before, expect: TO_OVERLAY2, current: after }).entries).map((e) => e.key)).toEqual(['verify-network-ipam']);
  });

  it('names a tag the image did not have (the run’s push tag left on an untagged image)', () => {
    const tagged = migrated();
    tagged.inventory.images[1]!.tags = ['127.0.0.1:5000/untagged:sha256-' + 'b'.repeat(64)];
    const entry = only(tagged);
    expect(entry.key).toBe('verify-image-tag-extra');
    expect(entry.summary).toBe(`Image bbbbbbbbbbbb has the tag "127.0.0.1:5000/untagged:sha256-${'b'.repeat(64)}", which it did not have before (it was untagged).`);
    const another = migrated();
    another.inventory.images[0]!.tags = ['app:1', 'app:latest', 'app:extra'];
    expect(only(another).details).toMatchObject({ image: IMAGE_ID, tag: 'app:extra', before: null, after: 'app:extra' });
  });

  it('compares a tmpfs-backed or remote volume by its definition, not its files', () => {
    const before = recorded();
    const entries: RecordedTreeEntry[] = [{ path: '.', kind: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: '1700000000000000000' }];
    const trees: RecordedVolumeTrees = { version: 1, recordedAt: '2024-01-01T00:00:00.000Z', content: true, volumes: [{ name: 'data', path: '/old', entries }] };
    const freshTmpfs = [{ ...entries[0]!, mode: 0o1777, mtimeNs: '1800000000000000000' }];
    const definitions: Record<string, string>[] = [{ type: 'tmpfs', device: 'tmpfs' }, { type: 'nfs', o: 'addr=10.0.0.1', device: ':/export' }];
    for (const options of definitions) {
      before.inventory.volumes = [volume({ options, remote: options.type === 'nfs' })];
      const after = migrated();
      after.inventory.volumes = [volume({ options, remote: options.type === 'nfs' })];
      after.volumeTrees = { data: { path: '/new', entries: freshTmpfs } };
      const result = compareHost({ recorded: before, expect: TO_OVERLAY2, current: after, volumeTrees: trees });
      expect(blockers(result.entries), options.type).toEqual([]);
      after.inventory.volumes = [volume({ options: { ...options, o: 'size=1m' }, remote: options.type === 'nfs' })];
      expect(blockers(compareHost({ recorded: before, expect: TO_OVERLAY2, current: after, volumeTrees: trees }).entries).map((e) => e.key)).toEqual(['verify-volume-option']);
    }
  });

  it('names volume driver, option and label differences, and a missing volume', () => {
    const label = migrated();
    label.inventory.volumes = [volume({ labels: { backup: 'weekly' } })];
    expect(only(label).summary).toBe('Volume "data", label "backup": "daily" → "weekly".');
    const option = migrated();
    option.inventory.volumes = [volume({ options: { type: 'tmpfs' } })];
    expect(only(option).key).toBe('verify-volume-option');
    const gone = migrated();
    gone.inventory.volumes = [];
    expect(only(gone).key).toBe('verify-volume-missing');
  });

  it('checks the driver against the expectation', () => {
    const entry = only(migrated(), { driver: 'devicemapper', configMustBeClean: false });
    expect(entry.key).toBe('verify-driver');
    expect(entry.summary).toBe('docker info shows storage driver "overlay2"; the host must be on "devicemapper".');
  });

  it('finds devicemapper left in the configuration, and accepts dm.* options for a direct-lvm target', () => {
    const config = (change: Parameters<typeof cleanConfig>[0]) => ({ ...migrated(), config: cleanConfig(change) });
    expect(only(config({ storageDriver: 'devicemapper' })).key).toBe('verify-config-driver');
    expect(only(config({ storageDriver: undefined })).summary).toMatch(/names no storage driver/);
    expect(only(config({ storageOpts: ['dm.thinpooldev=/dev/mapper/pool', 'overlay2.override_kernel_check=true'] })).summary).toContain(
      'storage-opts still holds dm.thinpooldev=/dev/mapper/pool',
    );
    const flag = only(
      config({
        places: [{ where: '/etc/sysconfig/docker-storage:2 (DOCKER_STORAGE_OPTIONS)', path: '/etc/sysconfig/docker-storage', flags: ['--storage-driver devicemapper'], settings: ['storage-driver'] }],
      }),
    );
    expect(flag.key).toBe('verify-config-flag');
    expect(flag.summary).toContain('/etc/sysconfig/docker-storage:2 (DOCKER_STORAGE_OPTIONS) still sets --storage-driver devicemapper');
    // A --data-root flag conflicts only when daemon.json sets data-root too.
    const dataRoot = { where: '/etc/default/docker:1 (DOCKER_OPTS)', path: '/etc/default/docker', flags: ['--data-root /srv/docker'], settings: ['data-root'] };
    expect(verify(config({ places: [dataRoot] })).differences).toBe(0);
    expect(only(config({ places: [dataRoot], daemonJsonSetsDataRoot: true })).key).toBe('verify-config-flag');
    expect(only(config({ daemonJsonError: 'line 2, column 1: unexpected end' })).key).toBe('verify-config-daemon-json');

    const directLvm = migrated();
    directLvm.inventory.daemon.driver = 'devicemapper';
    directLvm.config = cleanConfig({ storageDriver: 'devicemapper', storageOpts: ['dm.thinpooldev=/dev/mapper/docker-thinpool'] });
    expect(verify(directLvm, { driver: 'devicemapper', configMustBeClean: true }).differences).toBe(0);
  });

  it('does not judge the configuration after a rollback', () => {
    const current = migrated();
    current.inventory.daemon.driver = 'devicemapper';
    current.config = cleanConfig({ storageDriver: 'devicemapper', storageOpts: ['dm.thinpooldev=/dev/mapper/pool'] });
    const result = verify(current, { driver: 'devicemapper', configMustBeClean: false });
    expect(result.differences).toBe(0);
    expect(result.entries.some((e) => e.key.startsWith('verify-config'))).toBe(false);
  });
});

const file = (path: string, change: Partial<RecordedTreeEntry> = {}): RecordedTreeEntry => ({
  path,
  kind: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 3,
  sha256: 'c'.repeat(64),
  mtimeNs: '1700000000123456789',
  ...change,
});
const dir = (path: string): RecordedTreeEntry => ({ path, kind: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: '1700000000000000000' });

function trees(entries: RecordedTreeEntry[], content = true): RecordedVolumeTrees {
  return { version: 1, recordedAt: '2024-01-01T00:00:00.000Z', content, volumes: [{ name: 'data', path: '/old/data/_data', entries }] };
}

describe('volume files', () => {
  const before = [dir('.'), dir('sub'), file('sub/a.txt'), { ...file('link'), kind: 'symlink' as const, size: 0, sha256: undefined, linkTarget: 'sub/a.txt' }];

  function withTree(after: RecordedTreeEntry[], content = true) {
    const current = migrated();
    current.volumeTrees = { data: { path: '/new/data/_data', entries: after } };
    return compareHost({ recorded: recorded(), expect: TO_OVERLAY2, current, volumeTrees: trees(before, content) });
  }

  it('finds nothing when the tree is the same, and counts what it compared', () => {
    const result = withTree(copyJson(before));
    expect(result.differences).toBe(0);
    expect(result.checked).toMatchObject({ volumeTrees: 1, volumeEntries: 4 });
  });

  it('names each changed file and field', () => {
    const after = copyJson(before);
    after[2] = file('sub/a.txt', { sha256: 'd'.repeat(64), mode: 0o600, uid: 1000, mtimeNs: '1700000099000000000' });
    after[3]!.linkTarget = 'elsewhere';
    after.push(file('new.txt'));
    const result = withTree(after);
    expect(blockers(result.entries).map((e) => e.summary)).toEqual([
      'Volume "data", file "sub/a.txt": content differs (sha256 cccccccccccc… → dddddddddddd…).',
      'Volume "data", file "sub/a.txt": mode 0644 → 0600.',
      'Volume "data", file "sub/a.txt": owner 0:0 → 1000:0.',
      'Volume "data", file "sub/a.txt": modification time 2023-11-14T22:13:20.123456789Z → 2023-11-14T22:14:59.000000000Z.',
      'Volume "data", file "link": symlink target sub/a.txt → elsewhere.',
      'Volume "data", file "new.txt": new (a file that was not there).',
    ]);
    expect(blockers(result.entries).every((e) => e.key === 'verify-volume-file')).toBe(true);
    expect(blockers(result.entries)[0]!.details).toMatchObject({ volume: 'data', item: 'sub/a.txt', what: 'content' });
  });

  it('tolerates sub-microsecond mtime differences (utimes resolution)', () => {
    const after = copyJson(before);
    after[2]!.mtimeNs = '1700000000123456000';
    expect(withTree(after).differences).toBe(0);
  });

  it('compares sizes when the trees were recorded without content', () => {
    const sameSize = copyJson(before).map((e) => ({ ...e, sha256: undefined }));
    expect(withTree(sameSize, false).differences).toBe(0);
    // Checksums, where an entry has one, are not compared then.
    expect(withTree(copyJson(before).map((e) => ({ ...e, sha256: e.sha256 && 'e'.repeat(64) })), false).differences).toBe(0);
    const bigger = copyJson(sameSize);
    bigger[2]!.size = 4;
    const result = withTree(bigger, false);
    expect(blockers(result.entries).map((e) => e.summary)).toEqual(['Volume "data", file "sub/a.txt": size 3 → 4.']);
  });

  it('names a missing file, and caps the list per volume while counting every difference', () => {
    expect(blockers(withTree(before.slice(0, 2).concat(before[3]!)).entries).map((e) => e.summary)).toEqual([
      'Volume "data", file "sub/a.txt": missing (was a file).',
    ]);
    const many = [...copyJson(before), ...Array.from({ length: MAX_FILE_ENTRIES_PER_VOLUME + 7 }, (_, n) => file(`extra-${String(n).padStart(3, '0')}`))];
    const result = withTree(many);
    expect(result.differences).toBe(MAX_FILE_ENTRIES_PER_VOLUME + 7);
    expect(blockers(result.entries)).toHaveLength(MAX_FILE_ENTRIES_PER_VOLUME + 1);
    expect(blockers(result.entries).at(-1)!.summary).toBe(`Volume "data" has 7 more file differences than the ${MAX_FILE_ENTRIES_PER_VOLUME} listed.`);
  });

  it('reports a volume whose files cannot be read now', () => {
    const current = migrated();
    current.volumeTrees = { data: { path: '/new/data/_data', error: 'ENOENT: no such file or directory' } };
    const result = compareHost({ recorded: recorded(), expect: TO_OVERLAY2, current, volumeTrees: trees(before) });
    expect(blockers(result.entries).map((e) => e.key)).toEqual(['verify-volume-unreadable']);
  });

  it('treeDifferences keeps a path’s findings together in walk order', () => {
    const after = [dir('.'), dir('sub'), file('sub/a.txt', { mode: 0o600, uid: 1 })];
    expect(treeDifferences(before, after, true).map((d) => `${d.path}:${d.field}`)).toEqual(['sub/a.txt:mode', 'sub/a.txt:owner', 'link:missing']);
  });
});
