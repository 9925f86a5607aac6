// The state dir and the backups must not be inside the data-root, which the cutover moves away:
// judged by real paths (links on either side), and not waivable by ignoreBlockers.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherPreflightFacts } from '../../../src/facts/gather.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { unwaivedBlockers } from '../../../src/preflight/waivers.js';
import { daemonFacts, findings, inventory } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-places-'));
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'data/docker/keep'), { recursive: true });
  await mkdir(path.join(root, 'data/docker-backups'), { recursive: true });
  await mkdir(path.join(root, 'var/lib'), { recursive: true });
  await mkdir(path.join(root, 'srv'), { recursive: true });
  // The data-root is a link (as often: /var/lib/docker -> a bigger disk), and so is the state dir.
  await symlink('/data/docker', path.join(root, 'var/lib/docker'));
  await symlink('/data/docker/keep', path.join(root, 'srv/state'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function placeFindings(stateDirectory: string, backupDirectory: string): Promise<string[]> {
  const daemon = daemonFacts({ dockerRootDir: '/var/lib/docker' });
  const facts = await gatherPreflightFacts(new FixtureHost(path.join(dir, 'root')), { daemon, inventory: inventory({ daemon }) }, {
    dockerHost: 'unix:///var/run/docker.sock',
    daemonConfigPath: '/etc/docker/daemon.json',
    backupDirectory,
    stateDirectory,
  });
  return findings(preflightChecks(facts)).filter((f) => f.includes('inside-data-root'));
}

describe('state and backups inside the data-root', () => {
  it('blocks a state dir that is a link into the data-root, and a backup directory below the data-root\'s link', async () => {
    expect(await placeFindings('/srv/state', '/var/lib/docker/archives/new')).toEqual([
      'blocker:state-dir-inside-data-root',
      'blocker:backup-dir-inside-data-root',
    ]);
  });

  it('blocks a path that does not exist yet below a link into the data-root', async () => {
    expect(await placeFindings('/srv/state/run/deeper', '/data/docker-backups')).toEqual(['blocker:state-dir-inside-data-root']);
  });

  it('lets places outside pass, also beside the data-root with a common prefix', async () => {
    expect(await placeFindings('/var/lib/devmapper-migrate', '/data/docker-backups/x')).toEqual([]);
  });

  it('cannot be ignored by name', async () => {
    const daemon = daemonFacts({ dockerRootDir: '/var/lib/docker' });
    const facts = await gatherPreflightFacts(new FixtureHost(path.join(dir, 'root')), { daemon, inventory: inventory({ daemon }) }, {
      dockerHost: 'unix:///var/run/docker.sock',
      daemonConfigPath: '/etc/docker/daemon.json',
      backupDirectory: '/var/lib/docker/archives',
      stateDirectory: '/srv/state',
    });
    const blockers = unwaivedBlockers(preflightChecks(facts), ['state-dir-inside-data-root', 'backup-dir-inside-data-root']).map((b) => b.key);
    expect(blockers).toContain('state-dir-inside-data-root');
    expect(blockers).toContain('backup-dir-inside-data-root');
  });
});
