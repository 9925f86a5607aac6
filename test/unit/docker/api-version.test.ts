// API version negotiation and the fallbacks for request parameters newer than API 1.26, against
// a daemon stand-in on a real unix socket that answers as an old engine does.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { apiAtLeast, CLIENT_API_VERSION } from '../../../src/docker/api-version.js';
import { chooseApiVersion, connectDocker } from '../../../src/docker/client.js';
import { diskUsageQuery } from '../../../src/docker/inventory.js';
import { OperatorError } from '../../../src/errors.js';

const root = mkdtempSync(join(tmpdir(), 'dmm-api-'));
const servers: Server[] = [];
let count = 0;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface OldDaemon {
  header?: string;
  version: Record<string, unknown>;
}

/** An engine that answers /_ping and /version as `daemon` says, and `{}` to anything else; records each request line. */
async function oldDaemon(daemon: OldDaemon, seen: string[]): Promise<string> {
  const socket = join(root, `d${++count}.sock`);
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (daemon.header) headers['API-Version'] = daemon.header;
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '');
    if (path === '/_ping') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' });
      res.end('OK');
    } else if (path === '/version') {
      res.writeHead(200, headers);
      res.end(JSON.stringify(daemon.version));
    } else {
      res.writeHead(200, headers);
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  servers.push(server);
  return `unix://${socket}`;
}

const RHEL_DOCKER: OldDaemon = { header: '1.26', version: { Version: '1.13.1', ApiVersion: '1.26', MinAPIVersion: '1.12' } };

describe('connectDocker negotiates the API version', () => {
  it('talks API 1.26 to Red Hat’s docker 1.13.1: every request after /_ping and /version goes to /v1.26/', async () => {
    const seen: string[] = [];
    const client = await connectDocker(await oldDaemon(RHEL_DOCKER, seen));
    expect(client.apiVersion).toBe('1.26');
    await client.api.info();
    await client.api.getContainer('web').stop();
    expect(seen).toEqual(['GET /_ping', 'GET /version', 'GET /v1.26/info', 'POST /v1.26/containers/web/stop']);
  });

  it('takes the lower of the daemon’s version and its own', async () => {
    const newer = await connectDocker(await oldDaemon({ header: '1.47', version: { Version: '27.5.1', ApiVersion: '1.47', MinAPIVersion: '1.24' } }, []));
    expect(newer.apiVersion).toBe(CLIENT_API_VERSION);
    const ce = await connectDocker(await oldDaemon({ header: '1.30', version: { Version: '17.06.0-ce', ApiVersion: '1.30', MinAPIVersion: '1.12' } }, []));
    expect(ce.apiVersion).toBe('1.30');
  });

  it('reads /version when /_ping has no API-Version header', async () => {
    const client = await connectDocker(await oldDaemon({ version: { Version: '18.09.0', ApiVersion: '1.39', MinAPIVersion: '1.12' } }, []));
    expect(client.apiVersion).toBe('1.39');
  });

  it('refuses a daemon older than API 1.26 with the fix', async () => {
    const error = await connectDocker(await oldDaemon({ header: '1.24', version: { Version: '1.12.6', ApiVersion: '1.24' } }, [])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toMatch(/Docker 1\.12\.6, API 1\.24\) is older than devmapper-migrate supports \(API 1\.26/);
    expect((error as OperatorError).remedy).toMatch(/Update Docker to 1\.13\.1 or newer/);
  });
});

describe('chooseApiVersion', () => {
  it('uses the lower of the header and ApiVersion when both are there', () => {
    expect(chooseApiVersion({ pingHeader: '1.39', apiVersion: '1.40' }, 'x')).toBe('1.39');
  });

  it('refuses a daemon whose minimum is above the tool’s version, and one that names no version', () => {
    expect(() => chooseApiVersion({ apiVersion: '1.52', minApiVersion: '1.50' }, 'x')).toThrow(/accepts API 1\.50 or newer/);
    expect(() => chooseApiVersion({}, 'x')).toThrow(/does not say which API version/);
  });
});

describe('request parameters newer than API 1.26 fall back', () => {
  it('/system/df?type=… (API 1.42) is asked without type before 1.42', () => {
    expect(diskUsageQuery('1.26')).toBeUndefined();
    expect(diskUsageQuery('1.41')).toBeUndefined();
    expect(diskUsageQuery('1.42')).toEqual({ type: ['container', 'image', 'volume'] });
    expect(apiAtLeast('1.44', '1.42')).toBe(true);
  });
});
