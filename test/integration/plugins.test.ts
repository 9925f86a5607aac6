// A managed plugin on a real dockerd: made offline with `docker plugin create` from the busybox
// root the rig builds, on a private daemon (a plugin on the shared one would be a blocker for
// every other test's run). `inventory` lists it and `preflight` names it as a blocker.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/docker/types.js';
import type { ReportEntry } from '../../src/report/entry.js';
import { baseRootTarball, docker, ensureDist, runCli, runOk, startDockerd, type DaemonHandle } from '../rig/index.js';

const PLUGIN = 'dmm-test/volplug';
let daemon: DaemonHandle | undefined;
let scratch: string;

/** A volume-driver plugin's context: config.json and the busybox root as rootfs/. */
async function pluginContext(dir: string): Promise<void> {
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  await runOk('tar', ['-xf', await baseRootTarball(), '-C', join(dir, 'rootfs')]);
  const config = {
    description: 'devmapper-migrate test volume plugin (never enabled: nothing listens on its socket)',
    documentation: 'https://example.invalid/dmm-test',
    entrypoint: ['/bin/sh', '-c', 'sleep 3600'],
    interface: { types: ['docker.volumedriver/1.0'], socket: 'volplug.sock' },
    network: { type: 'host' },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'dmm-plugins-'));
  await ensureDist();
  daemon = await startDockerd({ name: 'plugins', storageDriver: 'vfs' });
  await pluginContext(join(scratch, 'context'));
  await docker(daemon, 'plugin', 'create', PLUGIN, join(scratch, 'context'));
}, 600_000);

afterAll(async () => {
  try {
    await daemon?.stop();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe('a managed plugin on the daemon', () => {
  it('inventory lists it, with what it provides', async () => {
    const result = await runCli(['--docker-host', daemon!.dockerHost, 'inventory', '--json']);
    expect(result.stderr).toBe('');
    const inventory = JSON.parse(result.stdout) as Inventory;
    expect(inventory.plugins).toEqual([
      { id: expect.stringMatching(/^[0-9a-f]{64}$/), name: `${PLUGIN}:latest`, enabled: false, capabilities: ['volumedriver'], reference: `${PLUGIN}:latest` },
    ]);
    const text = await runCli(['--docker-host', daemon!.dockerHost, 'inventory']);
    expect(text.stdout).toMatch(/^PLUGINS \(1 managed; they stay in the old data-root: reinstall them after a run\)$/m);
    expect(text.stdout).toMatch(new RegExp(`^${PLUGIN}:latest\\s+volumedriver\\s+no\\s+${PLUGIN}:latest$`, 'm'));
  });

  it('preflight names it as a blocker, with the way to install it again', async () => {
    const stateDir = join(scratch, 'state');
    const result = await runCli(['--docker-host', daemon!.dockerHost, '--daemon-config', daemon!.configFile, '--state-dir', stateDir, 'preflight', '--json']);
    const { entries } = JSON.parse(result.stdout) as { entries: ReportEntry[] };
    const plugins = entries.find((e) => e.key === 'managed-plugins');
    expect(plugins?.severity).toBe('blocker');
    expect(plugins?.title).toBe(`A managed plugin is not carried: ${PLUGIN}:latest`);
    expect(plugins?.summary).toContain(`${PLUGIN}:latest (volumedriver, disabled; used by nothing in the inventory)`);
    expect(plugins?.remediation).toContain(`docker plugin install ${PLUGIN}:latest`);
    expect(result.code).toBe(1);
  });
});
