// Readiness for the target engine and hosts whose engine was upgraded before the migration:
// fixture trees read through a FixtureHost, judged by the checks.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectPreflightFacts } from '../../../src/facts/collect.js';
import { readJournal } from '../../../src/facts/gather.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { ENGINE_REMOVALS } from '../../../src/preflight/engine-removals.js';
import { settingsOfArgs } from '../../../src/preflight/checks/engine-readiness.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { analyse } from '../../../src/preflight/analysis.js';
import { rescueSituation } from '../../../src/preflight/checks/engine-state.js';
import { resolvePreflightOptions } from '../../../src/preflight/options.js';
import { unwaivedBlockers } from '../../../src/preflight/waivers.js';
import { find, findings, FIXTURES, fixtureFacts, keys, makeFacts } from './helpers.js';

const V25_REFUSAL =
  'failed to start daemon: error initializing graphdriver: [graphdriver] ERROR: the devicemapper storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information: devicemapper';

describe('daemon.json and flags with options newer engines removed', () => {
  it('names each removed option, where it is set, and the release that removed it', async () => {
    const entries = preflightChecks(await fixtureFacts('removed-options'));
    const removed = findings(entries).filter((f) => f.includes('engine-'));
    expect(removed).toEqual([
      'blocker:engine-removed-disable-legacy-registry',
      'blocker:engine-removed-graph',
      'blocker:engine-removed-cluster-store',
      'blocker:engine-removed-oom-score-adjust',
      'blocker:engine-removed-logentries',
      'blocker:engine-removed-api-cors-header',
      'warning:engine-tcp-without-tls',
    ]);
    const oom = find(entries, 'engine-removed-oom-score-adjust')!;
    expect(oom.details?.places).toEqual([
      '/etc/sysconfig/docker:2 (OPTIONS)',
      "the running dockerd's command line (/proc/1500/cmdline)",
    ]);
    expect(oom.summary).toContain('--oom-score-adjust -500');
    expect(oom.summary).toContain('removed in 25.0');
    expect(oom.remediation).toContain('OOMScoreAdjust=');
    const cluster = find(entries, 'engine-removed-cluster-store')!;
    expect(cluster.summary).toContain('"cluster-store": consul://10.0.0.9:8500');
    expect(cluster.summary).toContain('"cluster-advertise": eth0:2376');
    expect(cluster.details?.source).toBe('https://github.com/docker/cli/blob/master/docs/deprecated.md#classic-swarm-and-overlay-networks-using-cluster-store');
    expect(find(entries, 'engine-tcp-without-tls')!.summary).toContain('26.0');
    // The run rewrites the storage settings: not the target engine's business before the cutover.
    expect(keys(entries)).not.toContain('engine-removed-devicemapper');
    expect(keys(entries)).not.toContain('engine-removed-dm-storage-opts');
  });

  it('checks against the release asked for: 20.10 refuses only what 19.03 removed', async () => {
    const entries = preflightChecks(await fixtureFacts('removed-options'), { targetEngine: '20.10' });
    expect(findings(entries).filter((f) => f.includes('engine-'))).toEqual(['blocker:engine-removed-disable-legacy-registry']);
    expect(find(entries, 'engine-target')!.title).toBe('Target engine: Docker 20.10');
  });

  it('after the cutover, leftover devicemapper settings count too', async () => {
    const entries = preflightChecks(await fixtureFacts('removed-options'), { afterCutover: true });
    expect(keys(entries)).toContain('engine-removed-devicemapper');
    expect(find(entries, 'engine-removed-dm-storage-opts')!.summary).toContain('dm.thinpooldev=/dev/mapper/docker-thinpool');
  });

  for (const row of ENGINE_REMOVALS) {
    it(`${row.id}: not reported for the release before ${row.removedIn}`, () => {
      const [major, minor] = row.removedIn.split('.').map(Number) as [number, number];
      const before = minor > 0 ? `${major}.${minor - 1}` : `${major - 1}.99`;
      const config = row.daemonJsonKeys
        ? { [row.daemonJsonKeys[0]!]: 'x' }
        : row.storageDriver
          ? { 'storage-driver': row.storageDriver }
          : row.storageOpt
            ? { 'storage-opts': [row.storageOpt.endsWith('.') ? `${row.storageOpt}x=1` : `${row.storageOpt}=x`] }
            : row.logDriver
              ? { 'log-driver': row.logDriver }
              : row.logOpt
                ? { 'log-opts': { [row.logOpt]: 'x' } }
                : {};
      const unit = `[Service]\nExecStart=/usr/bin/dockerd ${(row.flags ?? []).map((f) => `${f} x`).join(' ')}\n`;
      const facts = makeFacts({
        host: {
          daemonJson: { path: '/etc/docker/daemon.json', text: JSON.stringify(config) },
          systemd: { service: [{ path: '/etc/systemd/system/docker.service', kind: 'unit', text: unit }], socket: [], storageSetupUnits: [] },
        },
      });
      expect(keys(preflightChecks(facts, { targetEngine: before, afterCutover: true }))).not.toContain(`engine-removed-${row.id}`);
      expect(keys(preflightChecks(facts, { targetEngine: row.removedIn, afterCutover: true }))).toContain(`engine-removed-${row.id}`);
    });
  }

  it('reads -g and --graph however they are spelled', () => {
    for (const args of [['-g', '/data'], ['-g/data'], ['--graph=/data'], ['--graph', '/data']]) {
      expect(settingsOfArgs(args)).toContainEqual({ name: 'graph', value: '/data' });
    }
    expect(settingsOfArgs(['--tlsverify', '-H', 'tcp://h:2376'])).toEqual([
      { name: 'tlsverify', value: undefined },
      { name: 'host', value: 'tcp://h:2376' },
    ]);
  });
});

describe("RHEL's docker-runc runtime", () => {
  it('finds it in the unit of RHEL 7\'s docker package, and warns that 27.0+ has no RHEL 7 packages', async () => {
    const entries = preflightChecks(await fixtureFacts('rhel7-storage-setup'));
    const runtime = find(entries, 'engine-runtime-docker-runc-flags')!;
    expect(runtime.severity).toBe('warning');
    expect(runtime.details?.places).toContain('/usr/lib/systemd/system/docker.service:18 (ExecStart)');
    expect(runtime.summary).toContain('--default-runtime docker-runc');
    expect(find(entries, 'engine-no-packages-el7')?.severity).toBe('warning');
    expect(keys(preflightChecks(await fixtureFacts('rhel7-storage-setup'), { targetEngine: '26.1' }))).not.toContain('engine-no-packages-el7');
  });
});

describe('an engine upgraded to v25 before the migration, daemon down', () => {
  const NO_SOCKET = 'unix:///tmp/dmm-unit-no-such-dir/docker.sock';

  async function downFacts() {
    const host = await FixtureHost.load(path.join(FIXTURES, 'engine25-refuses'));
    return collectPreflightFacts(host, {
      dockerHost: NO_SOCKET,
      daemonConfigPath: '/etc/docker/daemon.json',
      backupDirectory: '/var/lib/devmapper-migrate',
    });
  }

  it("still reads the host: configuration, installed engine, data-root contents and the journal's last error", async () => {
    const facts = await downFacts();
    expect(facts.daemonDown?.message).toContain('/tmp/dmm-unit-no-such-dir/docker.sock');
    expect(facts.docker.daemon.dockerRootDir).toBe('/var/lib/docker');
    expect(facts.host.installedDockerd?.versionOutput).toBe('Docker version 26.1.5+dfsg1, build a72d7cd');
    expect(facts.host.dataRoot.driverDirs).toEqual(['devicemapper']);
    expect(facts.host.dataRoot.devicemapper).toMatchObject({ metadataCount: 4, poolFiles: ['data', 'metadata'] });
    expect(facts.host.journal).toEqual({ read: true, lastError: V25_REFUSAL });
  });

  it('blocks with the story and the way back, and judges nothing it cannot know', async () => {
    const entries = preflightChecks(await downFacts());
    expect(findings(entries).filter((f) => f.startsWith('blocker'))).toEqual(['blocker:daemon-unreachable', 'blocker:engine-refuses-devicemapper']);
    const refused = find(entries, 'engine-refuses-devicemapper')!;
    expect(refused.summary).toContain(V25_REFUSAL);
    expect(refused.summary).toContain('/var/lib/docker/devicemapper holds the pool (4 device metadata file(s), data and metadata)');
    expect(refused.remediation).toContain('Reinstall the engine the host ran before');
    expect(find(entries, 'daemon-unreachable')!.summary).toContain('Docker version 26.1.5+dfsg1');
    // Not "Start Docker": it would fail the same way.
    expect(find(entries, 'daemon-unreachable')!.remediation).toBe('Do not try to start this engine again as it is: see engine-refuses-devicemapper.');
    // Nothing about images, space or downtime: the daemon's facts are unknown, not empty.
    for (const key of ['source-driver', 'docker-version', 'space-estimate', 'downtime-estimate', 'dockerd-process-not-found']) {
      expect(keys(entries)).not.toContain(key);
    }
    expect(keys(entries)).toContain('engine-target');
  });

  it('takes the last start failure from the journal, in the older engines\' words too', async () => {
    const line = 'time="2019-03-01T10:00:00Z" level=fatal msg="Error starting daemon: error initializing graphdriver: driver not supported"';
    const host = new FixtureHost('/nonexistent', {
      commands: [{ command: 'journalctl', stdout: `level=info msg="Starting up"\n${line}\nStopped Docker.\n` }],
    });
    expect(await readJournal(host)).toEqual({ read: true, lastError: line });
    expect(await readJournal(new FixtureHost('/nonexistent', {}))).toEqual({ read: false });
  });
});

describe('devicemapper data the daemon does not see', () => {
  it('cannot be waived: a run would leave those images behind', () => {
    const facts = makeFacts({
      daemon: { serverVersion: '26.1.5', driver: 'overlay2', driverStatus: [] },
      host: {
        dataRoot: {
          ...makeFacts().host.dataRoot,
          driverDirs: ['devicemapper', 'overlay2'],
          devicemapper: { metadataFiles: ['base'], metadataCount: 1, poolFiles: [] },
        },
      },
    });
    const entries = preflightChecks(facts);
    expect(keys(entries)).not.toContain('already-on-target');
    expect(keys(unwaivedBlockers(entries, ['devicemapper-data-not-in-use']))).toContain('devicemapper-data-not-in-use');
  });

  it('an empty devicemapper/metadata and no pool files is nothing left behind', () => {
    const facts = makeFacts({
      daemon: { serverVersion: '26.1.5', driver: 'overlay2', driverStatus: [] },
      host: {
        dataRoot: { ...makeFacts().host.dataRoot, driverDirs: ['devicemapper', 'overlay2'], devicemapper: { metadataFiles: [], metadataCount: 0, poolFiles: [] } },
      },
    });
    expect(keys(preflightChecks(facts))).toContain('already-on-target');
  });
});

describe('the rescue situation (source.dockerd)', () => {
  const stranded = (serverVersion: string, metadataCount = 1) =>
    makeFacts({
      daemon: { serverVersion, driver: 'overlay2', driverStatus: [] },
      host: {
        dataRoot: {
          ...makeFacts().host.dataRoot,
          driverDirs: ['devicemapper', 'overlay2'],
          devicemapper: { metadataFiles: metadataCount ? ['base'] : [], metadataCount, poolFiles: [] },
        },
      },
    });
  const situation = (facts: ReturnType<typeof makeFacts>) => rescueSituation(analyse(facts, resolvePreflightOptions()));

  it('is an engine v25+ that refuses the data (daemon down) or runs an empty overlay2 beside it', async () => {
    const host = await FixtureHost.load(path.join(FIXTURES, 'engine25-refuses'));
    const down = await collectPreflightFacts(host, { dockerHost: 'unix:///tmp/dmm-unit-no-such-dir/docker.sock', daemonConfigPath: '/etc/docker/daemon.json', backupDirectory: '/var/lib/devmapper-migrate' });
    expect(situation(down)).toBe('the installed Docker 26.1.5+dfsg1 does not start, and /var/lib/docker/devicemapper holds the images and containers');
    expect(situation(stranded('26.1.5'))).toBe('Docker 26.1.5 runs an empty overlay2 beside /var/lib/docker/devicemapper, which holds the images and containers');
  });

  it('is not an older engine, an empty devicemapper/, or a daemon that reads devicemapper', () => {
    expect(situation(stranded('24.0.9'))).toBeUndefined();
    expect(situation(stranded('26.1.5', 0))).toBeUndefined();
    expect(situation(makeFacts())).toBeUndefined();
  });

  it("makes preflight's blockers name source.dockerd as the fix", async () => {
    const host = await FixtureHost.load(path.join(FIXTURES, 'engine25-refuses'));
    const down = await collectPreflightFacts(host, { dockerHost: 'unix:///tmp/dmm-unit-no-such-dir/docker.sock', daemonConfigPath: '/etc/docker/daemon.json', backupDirectory: '/var/lib/devmapper-migrate' });
    expect(find(preflightChecks(down), 'engine-refuses-devicemapper')!.remediation).toContain('set source.dockerd to its path in the answers');
    expect(find(preflightChecks(stranded('26.1.5')), 'devicemapper-data-not-in-use')!.remediation).toContain('set source.dockerd to its path in the answers');
  });

  it('with source.dockerd, an installed v25+ is no blocker for a run to overlay2', () => {
    const facts = makeFacts({ host: { installedDockerd: { path: '/usr/bin/dockerd', versionOutput: 'Docker version 26.1.5, build a72d7cd' } } });
    expect(keys(preflightChecks(facts))).toContain('docker-version-devicemapper-removed');
    expect(keys(preflightChecks(facts, { sourceDockerd: '/root/dockerd-20.10' }))).not.toContain('docker-version-devicemapper-removed');
  });
});
