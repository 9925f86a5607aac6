// The migration of api-versions.test.ts (api-migration.ts) against Engine 26 (Debian trixie's
// dockerd 26.1.5, API 1.45; scripts/fetch-engine26.sh): natively, where the tool negotiates its
// own maximum, API 1.44, and pinned at API 1.43 and 1.42 (docker-ce 24.0 and 23.0) through the
// proxy in front of it, since Debian's 20.10 speaks no API above 1.41. Engine 26 cannot start
// on devicemapper, so vfs stands in for it as everywhere in this tier.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { engine26Options } from '../rig/engine26.js';
import { docker, ensureDist, startDockerd, type DaemonHandle } from '../rig/index.js';
import type { HostSnapshot } from '../rig/snapshot.js';
import { describeMigrationAt, prepareMigrationHost } from './api-migration.js';

let daemon: DaemonHandle;
let work: string;
let before: HostSnapshot;
let dockerd: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-api26-'));
  await ensureDist();
  const engine26 = await engine26Options();
  dockerd = engine26.dockerd;
  // debug: dockerd logs every request's path, which shows the version the tool negotiated natively.
  daemon = await startDockerd({ name: 'api-engine26', storageDriver: 'vfs', ...engine26, daemonConfig: { ...engine26.daemonConfig, debug: true } });
  before = await prepareMigrationHost(daemon);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('runs Engine 26 (API 1.45, above the tool’s 1.44)', async () => {
  expect(await docker(daemon, 'version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}')).toBe('26.1.5+dfsg1 1.45');
});

describeMigrationAt(() => ({ daemon, work, before, validatedBy: dockerd, negotiates: '1.44' }), undefined, 'Engine 26 natively (API 1.44 negotiated)');
for (const apiVersion of ['1.43', '1.42']) describeMigrationAt(() => ({ daemon, work, before, validatedBy: dockerd }), apiVersion, `API ${apiVersion} in front of Engine 26`);
