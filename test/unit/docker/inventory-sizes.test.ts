// The inventory's sizes come from one bounded /system/df. A fake daemon on a unix socket
// answers like Engine 20.10 would, except that it may never answer the calls that measure
// sizes (/system/df, /containers/json?size=true), as a slow devicemapper host does.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDocker } from '../../../src/docker/client.js';
import { collectInventory, diskUsageOf } from '../../../src/docker/inventory.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { find, makeFacts } from '../preflight/helpers.js';

interface DfFixture {
  LayersSize: number;
  Images: { Id: string; RepoTags: string[]; Size: number; SharedSize: number; Created: number }[];
  Containers: { Id: string; Names: string[]; Image: string; ImageID: string; SizeRw: number }[];
  Volumes: { Name: string; Driver: string; Mountpoint: string }[];
}
const DF = JSON.parse(readFileSync(path.resolve('test/fixtures/docker/system-df-shared-base.json'), 'utf8')) as DfFixture;
const GB = 1e9;

interface FakeDaemon {
  socket: string;
  /** Connections of /system/df requests still open (never answered, not yet closed by the client). */
  pendingDf: Set<Socket>;
  close(): Promise<void>;
}

/** A daemon whose size-measuring calls answer, or hang for good (`slow`). */
async function fakeDaemon(dir: string, slow: boolean): Promise<FakeDaemon> {
  const socket = path.join(dir, 'docker.sock');
  const open = new Set<Socket>();
  const pendingDf = new Set<Socket>();
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    // Versioned paths (/v1.41/...) are the same calls.
    const route = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const sized = url.searchParams.get('size') === 'true' || url.searchParams.get('size') === '1';
    if (route === '/_ping') return res.end('OK');
    if (route === '/info') {
      return json(res, {
        ServerVersion: '1.13.1',
        Driver: 'devicemapper',
        DriverStatus: [['Pool Name', 'docker-thinpool'], ['Data Space Used', '40 GB'], ['Data Space Total', '100 GB']],
        DockerRootDir: '/var/lib/docker',
      });
    }
    if (route === '/version') return json(res, { Version: '1.13.1', ApiVersion: '1.26' });
    if (route === '/images/json') {
      if (url.searchParams.get('filters')) return json(res, []);
      return json(res, DF.Images.map((i) => ({ ...i, SharedSize: -1 })));
    }
    if (route === '/system/df' || (route === '/containers/json' && sized)) {
      if (slow) {
        // Never answered: the response stays open until the client gives up.
        if (route === '/system/df') {
          pendingDf.add(req.socket);
          req.socket.on('close', () => pendingDf.delete(req.socket));
        }
        return;
      }
      if (route === '/system/df') return json(res, DF);
      return json(res, DF.Containers);
    }
    if (route === '/containers/json') return json(res, DF.Containers.map(({ SizeRw: _s, ...c }) => c));
    const inspect = /^\/containers\/([0-9a-f]{64})\/json$/.exec(route);
    if (inspect) {
      const c = DF.Containers.find((x) => x.Id === inspect[1])!;
      return json(res, { Id: c.Id, Name: c.Names[0], Image: c.ImageID, State: { Status: 'running', Running: true }, Config: { Image: c.Image }, HostConfig: { LogConfig: { Type: 'json-file' } } });
    }
    if (route === '/volumes') return json(res, { Volumes: DF.Volumes.map(({ Name, Driver, Mountpoint }) => ({ Name, Driver, Mountpoint })) });
    if (route === '/networks' || route === '/plugins') return json(res, []);
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: `fake daemon: no route ${route}` }));
  };
  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    pendingDf,
    close: async () => {
      // Not waiting for close's callback: it waits for every connection, and Node 16 keeps the
      // one of an aborted request open.
      server.close();
      for (const s of open) s.destroy();
    },
  };
}

let dir: string | undefined;
let daemon: FakeDaemon | undefined;
afterEach(async () => {
  await daemon?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  daemon = undefined;
  dir = undefined;
});

async function inventoryFrom(slow: boolean, diskUsageTimeoutMs: number) {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-fake-docker-'));
  daemon = await fakeDaemon(dir, slow);
  const client = await connectDocker(`unix://${daemon.socket}`);
  return collectInventory(client, { diskUsageTimeoutMs });
}

describe('sizes from /system/df', () => {
  it('reads the layers once, each image shared size, writable layers and volumes', async () => {
    const usage = diskUsageOf(DF);
    expect(usage.layersSize).toBe(7 * GB);
    expect(DF.Images.reduce((a, i) => a + i.Size, 0)).toBe(36 * GB);
    const inventory = await inventoryFrom(false, 10_000);
    expect(inventory.layersSize).toBe(7 * GB);
    expect(inventory.sizesNotMeasured).toBeUndefined();
    expect(inventory.images).toHaveLength(30);
    expect(inventory.images.every((i) => i.sharedSize === 1 * GB && i.size === 1.2 * GB)).toBe(true);
    expect(inventory.containers.every((c) => c.sizeRw === 10e6 && c.logDriver === 'json-file')).toBe(true);
    expect(inventory.volumes[0]).toMatchObject({ name: 'data', size: 2 * GB });
  });
});

describe('a daemon that never finishes measuring (a slow devicemapper host)', () => {
  it('still gives the inventory, without sizes and saying why, once the bound has passed', async () => {
    const started = Date.now();
    const inventory = await inventoryFrom(true, 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(inventory.sizesNotMeasured).toBe('the daemon did not answer /system/df within 0.3 s');
    expect(inventory.layersSize).toBeUndefined();
    expect(inventory.containers).toHaveLength(30);
    expect(inventory.containers.every((c) => c.sizeRw === -1)).toBe(true);
    expect(inventory.volumes[0]).toMatchObject({ name: 'data', size: -1 });
    // The abandoned request is closed, so that it does not keep the process alive (Node 16).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(daemon!.pendingDf.size).toBe(0);
  }, 20_000);

  it('makes a fallback estimate that says it is one', async () => {
    const inventory = await inventoryFrom(true, 300);
    const facts = makeFacts({ daemon: inventory.daemon, inventory });
    const e = find(preflightChecks(facts), 'space-estimate')!;
    expect(e.title).toMatch(/\(partly a fallback estimate\)$/);
    expect(e.summary).toContain('Image layers were not measured (the daemon did not answer /system/df within 0.3 s): the sum of image sizes stands in');
    // The pool's 40 GB in use, less the 36 GB of images standing in for the layers.
    expect(e.summary).toContain("Writable layers of 30 containers were not measured (the daemon did not answer /system/df within 0.3 s): estimated as the thin pool's used data space less the image layers, 4.0 GB.");
    expect(e.summary).toContain('1 volume(s) of unknown size are not counted (data)');
    expect(e.details?.estimate).toMatchObject({ layersBytes: 36 * GB, writableBytes: 4 * GB });
  }, 20_000);
});
