import { describe, expect, it } from 'vitest';
import { configuredDriver, needsOverlay2KernelOverride, rewriteDaemonConfig, type RewriteTarget } from '../../../src/config/daemon-config-rewrite.js';
import { parseDaemonJson } from '../../../src/config/daemon-json.js';
import { directLvmStorageOpts } from '../../../src/plan/direct-lvm.js';
import { OperatorError } from '../../../src/errors.js';

/** Parses a daemon.json text as the run would (daemon-json.ts), failing the test on a syntax error. */
function parsed(text: string): Record<string, unknown> {
  const result = parseDaemonJson(text);
  if (!result.ok) throw new Error(`fixture is not JSON: ${result.error.message}`);
  return result.value;
}

interface Row {
  name: string;
  /** daemon.json as found on the host; undefined: there is none. */
  file: string | undefined;
  target: RewriteTarget;
  /** The whole expected file, as text. */
  expected: string;
  changes?: string[];
  warnings?: RegExp[];
}

const OVERLAY2: RewriteTarget = { driver: 'overlay2' };

const ROWS: Row[] = [
  {
    name: 'no daemon.json: it is created with the driver',
    file: undefined,
    target: OVERLAY2,
    expected: '{\n  "storage-driver": "overlay2"\n}\n',
    changes: ['storage-driver: (not set) → overlay2', 'create the file (it does not exist)'],
  },
  {
    name: 'an empty daemon.json (dockerd accepts it)',
    file: '\n',
    target: OVERLAY2,
    expected: '{\n  "storage-driver": "overlay2"\n}\n',
  },
  {
    name: "Docker's direct-lvm example (docs, step 13): every dm.* option goes, and the emptied list",
    file: `{
    "storage-driver": "devicemapper",
    "storage-opts": [
    "dm.thinpooldev=/dev/mapper/docker-thinpool",
    "dm.use_deferred_removal=true",
    "dm.use_deferred_deletion=true"
    ]
}`,
    target: OVERLAY2,
    expected: '{\n  "storage-driver": "overlay2"\n}\n',
    changes: [
      'storage-driver: devicemapper → overlay2',
      'storage-opts: remove dm.thinpooldev=/dev/mapper/docker-thinpool',
      'storage-opts: remove dm.use_deferred_removal=true',
      'storage-opts: remove dm.use_deferred_deletion=true',
      'storage-opts: remove the now empty list',
    ],
  },
  {
    name: "dockerd's automatic direct-lvm options (dm.directlvm_device and friends)",
    file: `{
  "storage-driver": "devicemapper",
  "storage-opts": [
    "dm.directlvm_device=/dev/xdf",
    "dm.thinp_percent=95",
    "dm.thinp_metapercent=1",
    "dm.thinp_autoextend_threshold=80",
    "dm.thinp_autoextend_percent=20",
    "dm.directlvm_device_force=false"
  ]
}
`,
    target: OVERLAY2,
    expected: '{\n  "storage-driver": "overlay2"\n}\n',
  },
  {
    name: 'a busy RHEL 7 file: unknown and nested keys keep their values and order; mixed storage-opts keep the others',
    file: `{
  "log-driver": "json-file",
  "log-opts": { "max-size": "100m", "max-file": "3" },
  "exec-opts": ["native.cgroupdriver=systemd"],
  "storage-driver": "devicemapper",
  "storage-opts": [
    "dm.thinpooldev=/dev/mapper/rhel-docker--pool",
    "overlay2.override_kernel_check=true",
    "dm.use_deferred_removal=true"
  ],
  "insecure-registries": ["registry.internal:5000"],
  "live-restore": true,
  "x-site-inventory": { "owner": "team-a", "tags": [1, 2, { "deep": null }] },
  "default-ulimits": { "nofile": { "Name": "nofile", "Hard": 65536, "Soft": 65536 } }
}`,
    target: OVERLAY2,
    expected: `{
  "log-driver": "json-file",
  "log-opts": {
    "max-size": "100m",
    "max-file": "3"
  },
  "exec-opts": [
    "native.cgroupdriver=systemd"
  ],
  "storage-driver": "overlay2",
  "storage-opts": [
    "overlay2.override_kernel_check=true"
  ],
  "insecure-registries": [
    "registry.internal:5000"
  ],
  "live-restore": true,
  "x-site-inventory": {
    "owner": "team-a",
    "tags": [
      1,
      2,
      {
        "deep": null
      }
    ]
  },
  "default-ulimits": {
    "nofile": {
      "Name": "nofile",
      "Hard": 65536,
      "Soft": 65536
    }
  }
}
`,
  },
  {
    name: 'dm.basesize on a filesystem without project quota: dropped, with a warning',
    file: '{"storage-driver":"devicemapper","storage-opts":["dm.basesize=20G"],"debug":false}',
    target: { driver: 'overlay2', backingFsSupportsQuota: false },
    expected: '{\n  "storage-driver": "overlay2",\n  "debug": false\n}\n',
    warnings: [/dm\.basesize=20G was dropped: overlay2 limits .* only on xfs mounted with pquota/],
  },
  {
    name: 'dm.basesize on xfs with pquota: becomes overlay2.size',
    file: '{"storage-driver":"devicemapper","storage-opts":["dm.basesize=20G","dm.fs=xfs"]}',
    target: { driver: 'overlay2', backingFsSupportsQuota: true },
    expected: '{\n  "storage-driver": "overlay2",\n  "storage-opts": [\n    "overlay2.size=20G"\n  ]\n}\n',
    changes: ['storage-driver: devicemapper → overlay2', 'storage-opts: dm.basesize=20G → overlay2.size=20G (a per-container size limit, as before)', 'storage-opts: remove dm.fs=xfs'],
  },
  {
    name: 'option keys are case-insensitive to dockerd: DM.BaseSize goes too',
    file: '{"storage-driver":"devicemapper","storage-opts":["DM.BaseSize=10G"]}',
    target: OVERLAY2,
    expected: '{\n  "storage-driver": "overlay2"\n}\n',
    warnings: [/DM\.BaseSize=10G was dropped/],
  },
  {
    name: '`graph` instead of `data-root`: kept as it is, and a warning for the v23+ upgrade',
    file: '{\n  "graph": "/data/docker",\n  "storage-driver": "devicemapper"\n}\n',
    target: OVERLAY2,
    expected: '{\n  "graph": "/data/docker",\n  "storage-driver": "overlay2"\n}\n',
    warnings: [/"graph" \(\/data\/docker\) is the old name of "data-root"; Docker Engine 23 and newer refuse/],
  },
  {
    name: '`graph` renamed in place when asked (engine 17.05+)',
    file: '{\n  "graph": "/data/docker",\n  "storage-driver": "devicemapper"\n}\n',
    target: { driver: 'overlay2', renameGraph: true },
    expected: '{\n  "data-root": "/data/docker",\n  "storage-driver": "overlay2"\n}\n',
    warnings: [],
  },
  {
    name: 'no storage-driver at all (loop-lvm picked by the engine): the driver is named explicitly, at the end',
    file: '{ "data-root": "/srv/docker", "log-level": "warn" }',
    target: OVERLAY2,
    expected: '{\n  "data-root": "/srv/docker",\n  "log-level": "warn",\n  "storage-driver": "overlay2"\n}\n',
  },
  {
    name: 'a fresh direct-lvm pool: the old pool options go, tunables stay, the new pool is set',
    file: `{
  "storage-driver": "devicemapper",
  "storage-opts": [
    "dm.loopdatasize=200G",
    "dm.loopmetadatasize=4G",
    "dm.basesize=20G",
    "dm.use_deferred_removal=true"
  ],
  "log-level": "info"
}`,
    target: { driver: 'devicemapper', storageOpts: directLvmStorageOpts() },
    expected: `{
  "storage-driver": "devicemapper",
  "storage-opts": [
    "dm.basesize=20G",
    "dm.thinpooldev=/dev/mapper/docker-thinpool",
    "dm.use_deferred_removal=true",
    "dm.use_deferred_deletion=true"
  ],
  "log-level": "info"
}
`,
    changes: [
      'storage-opts: remove dm.loopdatasize=200G',
      'storage-opts: remove dm.loopmetadatasize=4G',
      'storage-opts: add dm.thinpooldev=/dev/mapper/docker-thinpool',
      'storage-opts: add dm.use_deferred_deletion=true',
    ],
  },
];

describe('rewriteDaemonConfig over real-world daemon.json files', () => {
  it.each(ROWS)('$name', (row) => {
    const original = row.file === undefined ? undefined : parsed(row.file);
    const snapshot = JSON.stringify(original);
    const result = rewriteDaemonConfig(original, row.target);
    expect(result.text).toBe(row.expected);
    expect(JSON.parse(result.text)).toEqual(result.config);
    expect(result.created).toBe(row.file === undefined);
    if (row.changes) expect(result.changes).toEqual(row.changes);
    if (row.warnings) {
      expect(result.warnings).toHaveLength(row.warnings.length);
      row.warnings.forEach((pattern, i) => expect(result.warnings[i]).toMatch(pattern));
    }
    // The input object is not modified: the caller still holds the original for the backup.
    expect(JSON.stringify(original)).toBe(snapshot);
    // The result names its driver, and no dm.* option survives a move to overlay2.
    expect(configuredDriver(result.config)).toBe(row.target.driver);
    if (row.target.driver === 'overlay2') expect(result.text).not.toMatch(/"dm\./i);
  });

  it('warns about an option the target driver will refuse, and keeps it', () => {
    const result = rewriteDaemonConfig({ 'storage-driver': 'devicemapper', 'storage-opts': ['zfs.fsname=tank/docker', 'dm.fs=xfs'] }, OVERLAY2);
    expect(result.config['storage-opts']).toEqual(['zfs.fsname=tank/docker']);
    expect(result.warnings).toEqual(['storage-opts: "zfs.fsname=tank/docker" is not an option of overlay2; dockerd will refuse to start with it.']);
  });

  it('refuses storage-opts that is not a list, as dockerd would', () => {
    expect(() => rewriteDaemonConfig({ 'storage-opts': 'dm.basesize=20G' }, OVERLAY2)).toThrow(OperatorError);
  });

  it('keeps CRLF line ends when the file had them, and writes LF otherwise', () => {
    const original = parseDaemonJson('{\r\n  "storage-driver": "devicemapper",\r\n  "labels": ["a\\nb"]\r\n}\r\n');
    if (!original.ok) throw new Error('fixture is not JSON');
    const crlf = rewriteDaemonConfig(original.value, OVERLAY2, { crlf: original.crlf });
    expect(crlf.text).toBe('{\r\n  "storage-driver": "overlay2",\r\n  "labels": [\r\n    "a\\nb"\r\n  ]\r\n}\r\n');
    expect(parseDaemonJson(crlf.text)).toMatchObject({ ok: true, value: { labels: ['a\nb'] } });
    expect(rewriteDaemonConfig(original.value, OVERLAY2).text).not.toContain('\r');
  });

  it('a daemon.json with comments never reaches the rewrite: the parse names the line', () => {
    const result = parseDaemonJson('{\n  // direct-lvm\n  "storage-driver": "devicemapper"\n}\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ line: 2, message: 'comments are not allowed in JSON' });
  });
});

describe('configuredDriver', () => {
  it('reads the driver daemon.json names', () => {
    expect(configuredDriver({ 'storage-driver': 'devicemapper' })).toBe('devicemapper');
    expect(configuredDriver({ 'storage-driver': '' })).toBeUndefined();
    expect(configuredDriver({})).toBeUndefined();
    expect(configuredDriver(undefined)).toBeUndefined();
  });
});

describe('overlay2.override_kernel_check for docker-ce 17.03–17.11 below kernel 4.0', () => {
  const rhel7 = '3.10.0-1160.el7.x86_64';

  it('is needed by 17.03 to 17.11 on a 3.10 kernel, and by nothing else', () => {
    for (const version of ['17.03.2-ce', '17.06.2-ee-25', '17.09.1-ce', '17.11.0-ce']) expect(needsOverlay2KernelOverride(version, rhel7), version).toBe(true);
    for (const version of ['1.13.1', '17.12.1-ce', '18.09.9', '20.10.24']) expect(needsOverlay2KernelOverride(version, rhel7), version).toBe(false);
    expect(needsOverlay2KernelOverride('17.09.1-ce', '4.18.0-513.el8.x86_64')).toBe(false);
    expect(needsOverlay2KernelOverride('17.09.1-ce', undefined)).toBe(false);
  });

  it("is written into storage-opts with the host's facts, dm.* options gone, and a warning for Engine 24", () => {
    const original = { 'storage-driver': 'devicemapper', 'storage-opts': ['dm.thinpooldev=/dev/mapper/docker--vg-docker--pool', 'dm.use_deferred_removal=true'], 'log-driver': 'json-file' };
    const rewrite = rewriteDaemonConfig(original, { driver: 'overlay2', overrideKernelCheck: needsOverlay2KernelOverride('17.03.2-ce', rhel7) });
    expect(rewrite.config).toEqual({ 'storage-driver': 'overlay2', 'storage-opts': ['overlay2.override_kernel_check=true'], 'log-driver': 'json-file' });
    expect(rewrite.changes).toContain('storage-opts: add overlay2.override_kernel_check=true');
    expect(rewrite.warnings.join(' ')).toMatch(/Engine 24 and newer refuse the option/);
  });

  it('is not written for a devicemapper target, nor when the engine does not need it', () => {
    expect(rewriteDaemonConfig({}, { driver: 'devicemapper', storageOpts: ['dm.thinpooldev=/dev/mapper/x'], overrideKernelCheck: true }).config['storage-opts']).toEqual(['dm.thinpooldev=/dev/mapper/x']);
    expect(rewriteDaemonConfig({}, { driver: 'overlay2', overrideKernelCheck: needsOverlay2KernelOverride('20.10.24', rhel7) }).config['storage-opts']).toBeUndefined();
  });
});
