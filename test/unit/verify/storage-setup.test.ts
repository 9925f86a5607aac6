// verify checks that docker-storage-setup is off after a run on a RHEL host where it is
// installed: read from the host's facts (config-state) and judged by the comparison.
import { describe, expect, it } from 'vitest';
import type { FileFact } from '../../../src/facts/types.js';
import { compareHost } from '../../../src/verify/compare.js';
import { configStateOf } from '../../../src/verify/config-state.js';
import { hostFacts, makeFacts } from '../preflight/helpers.js';
import { migrated, recorded } from './helpers.js';

const UNITS = ['/usr/lib/systemd/system/docker-storage-setup.service'];
const SETUP = '/etc/sysconfig/docker-storage-setup';

/** The blockers verify reports for a migrated host whose docker-storage-setup file holds `text` (undefined: no file). */
function blockersWith(text: string | undefined, units = UNITS) {
  const files: FileFact[] = [{ path: '/etc/sysconfig/docker', text: "OPTIONS='--selinux-enabled'\n" }, { path: '/etc/sysconfig/docker-storage', text: 'DOCKER_STORAGE_OPTIONS=\n' }];
  if (text !== undefined) files.push({ path: SETUP, text });
  const host = hostFacts({
    daemonJson: { path: '/etc/docker/daemon.json', text: '{ "storage-driver": "overlay2" }\n' },
    systemd: { ...hostFacts().systemd, storageSetupUnits: units },
    environmentFiles: files,
  });
  const docker = makeFacts({ daemon: { driver: 'overlay2' } }).docker;
  const current = { ...migrated(), config: configStateOf(host, docker) };
  const result = compareHost({ recorded: recorded(), expect: { driver: 'overlay2', configMustBeClean: true }, current, checkedAt: '2024-01-02T00:00:00.000Z' });
  return { blockers: result.entries.filter((e) => e.severity === 'blocker'), entries: result.entries };
}

describe('verify and docker-storage-setup', () => {
  it('is clean when the run set STORAGE_DRIVER="" (and says docker-storage-setup is off)', () => {
    const { blockers, entries } = blockersWith('# devmapper-migrate: the storage driver is set in /etc/docker/daemon.json\nSTORAGE_DRIVER=""\n');
    expect(blockers).toEqual([]);
    expect(entries.find((e) => e.key === 'verify-summary-config')?.summary).toContain('docker-storage-setup is off (STORAGE_DRIVER="")');
  });

  it('reports STORAGE_DRIVER set to a driver, the last assignment winning', () => {
    for (const [text, driver] of [
      ['STORAGE_DRIVER=devicemapper\n', 'devicemapper'],
      ['STORAGE_DRIVER=""\nSTORAGE_DRIVER=overlay2\n', 'overlay2'],
    ] as const) {
      const { blockers } = blockersWith(text);
      expect(blockers.map((e) => e.key)).toEqual(['verify-config-storage-setup']);
      expect(blockers[0]!.summary).toContain(`${UNITS[0]} is installed and ${SETUP} sets STORAGE_DRIVER=${driver}`);
      expect(blockers[0]!.remediation).toContain(`Set STORAGE_DRIVER="" in ${SETUP}`);
    }
  });

  it('reports STORAGE_DRIVER unset or the file missing (its default is devicemapper)', () => {
    expect(blockersWith('DEVS=/dev/sdb\n').blockers[0]?.summary).toContain(`${SETUP} does not set STORAGE_DRIVER, so it runs on its default, devicemapper`);
    expect(blockersWith(undefined).blockers[0]?.summary).toContain(`${SETUP} does not exist, so it runs on its default, STORAGE_DRIVER=devicemapper`);
  });

  it('does not judge the file where docker-storage-setup is not installed', () => {
    expect(blockersWith('STORAGE_DRIVER=devicemapper\n', []).blockers).toEqual([]);
  });
});
