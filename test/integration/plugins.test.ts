// Managed plugins on a real dockerd, made offline with `docker plugin create` from the busybox
// root the rig builds, on a private daemon (a plugin on the shared one would be a blocker for
// every other test's run): a disabled volume plugin, and an enabled log plugin that a
// container uses. `inventory` lists them and `preflight` names them, and the container.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/docker/types.js';
import type { ReportEntry } from '../../src/report/entry.js';
import { BASE_IMAGE, baseRootTarball, docker, ensureDist, runCli, runOk, seedBaseImage, startDockerd, type DaemonHandle } from '../rig/index.js';

const PLUGIN = 'dmm-test/volplug';
const LOG_PLUGIN = 'dmm-test/logplug';
const USER = 'plugin-log-user';
let daemon: DaemonHandle | undefined;
const servers: Server[] = [];
const socketDirs: string[] = [];
let scratch: string;

/** A plugin's context: config.json and the busybox root as rootfs/. */
async function pluginContext(dir: string, type: string, socket: string): Promise<void> {
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  await runOk('tar', ['-xf', await baseRootTarball(), '-C', join(dir, 'rootfs')]);
  // dockerd 20.10 refuses a second plugin whose rootfs layer it already stores ("already exists").
  writeFileSync(join(dir, 'rootfs', 'etc', 'dmm-test-plugin'), `${type}\n`);
  const config = {
    description: 'devmapper-migrate test plugin',
    documentation: 'https://example.invalid/dmm-test',
    entrypoint: ['/bin/sh', '-c', 'sleep 3600'],
    interface: { types: [type], socket },
    network: { type: 'host' },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

/**
 * Enables the log plugin: dockerd waits for its socket to answer, and busybox cannot listen on
 * a unix socket, so this process listens there and answers the log-driver calls with nothing
 * to do. The plugin's /run/docker/plugins is the host's /run/docker/plugins/<id> on Engine 20.10
 * (later engines put it under the exec-root): both are served.
 */
async function enableLogPlugin(target: DaemonHandle): Promise<void> {
  const id = await docker(target, 'plugin', 'inspect', '--format', '{{.Id}}', LOG_PLUGIN);
  for (const dir of [join('/run/docker/plugins', id), join(target.execRoot, 'plugins', id)]) {
    mkdirSync(dir, { recursive: true });
    socketDirs.push(dir);
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1+json' });
      res.end(req.url === '/LogDriver.Capabilities' ? '{"Cap":{"ReadLogs":false}}' : '{}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(dir, 'logplug.sock'), resolve));
  }
  await docker(target, 'plugin', 'enable', LOG_PLUGIN);
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'dmm-plugins-'));
  await ensureDist();
  daemon = await startDockerd({ name: 'plugins', storageDriver: 'vfs' });
  await seedBaseImage(daemon);
  await pluginContext(join(scratch, 'volplug'), 'docker.volumedriver/1.0', 'volplug.sock');
  await docker(daemon, 'plugin', 'create', PLUGIN, join(scratch, 'volplug'));
  await pluginContext(join(scratch, 'logplug'), 'docker.logdriver/1.0', 'logplug.sock');
  await docker(daemon, 'plugin', 'create', LOG_PLUGIN, join(scratch, 'logplug'));
  await enableLogPlugin(daemon);
  // Created, never started: the log driver is only used once the container runs.
  await docker(daemon, 'create', '--name', USER, '--log-driver', LOG_PLUGIN, BASE_IMAGE, 'true');
}, 600_000);

afterAll(async () => {
  try {
    await daemon?.stop();
  } finally {
    for (const server of servers) server.close();
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe('managed plugins on the daemon', () => {
  it('inventory lists them, with what they provide, and the container records its log driver', async () => {
    const result = await runCli(['--docker-host', daemon!.dockerHost, 'inventory', '--json']);
    expect(result.stderr).toBe('');
    const inventory = JSON.parse(result.stdout) as Inventory;
    expect(inventory.plugins).toEqual([
      { id: expect.stringMatching(/^[0-9a-f]{64}$/), name: `${LOG_PLUGIN}:latest`, enabled: true, capabilities: ['logdriver'], reference: `${LOG_PLUGIN}:latest` },
      { id: expect.stringMatching(/^[0-9a-f]{64}$/), name: `${PLUGIN}:latest`, enabled: false, capabilities: ['volumedriver'], reference: `${PLUGIN}:latest` },
    ]);
    expect(inventory.containers.find((c) => c.name === USER)?.logDriver).toBe(LOG_PLUGIN);
    const text = await runCli(['--docker-host', daemon!.dockerHost, 'inventory']);
    expect(text.stdout).toMatch(/^PLUGINS \(2 managed; they stay in the old data-root: reinstall them after a run\)$/m);
    expect(text.stdout).toMatch(new RegExp(`^${PLUGIN}:latest\\s+volumedriver\\s+no\\s+${PLUGIN}:latest$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^${LOG_PLUGIN}:latest\\s+logdriver\\s+yes\\s+${LOG_PLUGIN}:latest$`, 'm'));
  });

  it('preflight names each as a blocker, the container that uses one, and the way to install them again', async () => {
    const stateDir = join(scratch, 'state');
    const result = await runCli(['--docker-host', daemon!.dockerHost, '--daemon-config', daemon!.configFile, '--state-dir', stateDir, 'preflight', '--json']);
    const { entries } = JSON.parse(result.stdout) as { entries: ReportEntry[] };
    const plugins = entries.find((e) => e.key === 'managed-plugins');
    expect(plugins?.severity).toBe('blocker');
    expect(plugins?.title).toBe('2 managed plugins are not carried');
    expect(plugins?.summary).toContain(`${LOG_PLUGIN}:latest (logdriver; used by containers ${USER} (log driver))`);
    expect(plugins?.summary).toContain(`${PLUGIN}:latest (volumedriver, disabled; used by nothing in the inventory)`);
    expect(plugins?.remediation).toContain(`docker plugin install ${LOG_PLUGIN}:latest`);
    expect(plugins?.remediation).toContain(`docker plugin install ${PLUGIN}:latest`);
    expect(plugins?.remediation).toContain('containers.exclude');
    expect(result.code).toBe(1);
  });
});
