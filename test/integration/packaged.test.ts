// The release tarball as an operator on RHEL/CentOS 7 uses it: unpacked into a fresh directory,
// every ELF file in it within glibc 2.17's symbol versions, and run through its launcher with no
// other Node on PATH (this machine has /usr/bin/node; the test PATH leaves it out). The whole
// migration through the launcher is run.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type DaemonHandle } from '../rig/index.js';
import { aboveEl7, elfFiles, neededSymbolVersions, pathWithoutNode, runLauncher, unpackArtifact, type UnpackedArtifact } from '../rig/artifact.js';
import { REPO_ROOT } from '../rig/paths.js';

let artifact: UnpackedArtifact;
let path: string;
let daemon: DaemonHandle;
let work: string;

beforeAll(async () => {
  artifact = await unpackArtifact();
  work = mkdtempSync(join(tmpdir(), 'dmm-packaged-'));
  path = pathWithoutNode(work);
  daemon = await startDockerd({ name: 'packaged', storageDriver: 'vfs' });
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
  for (const dir of [artifact?.dir, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the release tarball', () => {
  it('is one folder with the launcher, the bundle, the runtime, its license and checksums that match', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [relative(artifact.top, join(dir, e.name))]));
    expect(files(artifact.top).sort()).toEqual(
      ['SHA256SUMS', 'bin/devmapper-migrate', 'lib/devmapper-migrate.mjs', 'lib/devmapper-migrate.mjs.LEGAL.txt', 'runtime/LICENSE', 'runtime/bin/node'].sort(),
    );
    expect(readFileSync(join(artifact.top, 'runtime/LICENSE'), 'utf8')).toMatch(/^Node\.js is licensed/);
    expect(readFileSync(join(artifact.top, 'bin/devmapper-migrate'), 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    const check = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: artifact.top, encoding: 'utf8' });
    expect(check.trim().split('\n')).toHaveLength(5);
  });

  it('needs at most GLIBC_2.17, GLIBCXX_3.4.19 and CXXABI_1.3.7 in every ELF file (RHEL/CentOS 7)', async () => {
    const elves = elfFiles(artifact.top);
    expect(elves.map((f) => relative(artifact.top, f))).toEqual(['runtime/bin/node']);
    for (const file of elves) {
      const versions = await neededSymbolVersions(file);
      expect(versions).toContain('GLIBC_2.17');
      expect(aboveEl7(versions), file).toEqual([]);
    }
  });

  it('the symbol check refuses an official Node 18 binary (needs glibc 2.28)', async () => {
    const node18 = execFileSync('bash', [join(REPO_ROOT, 'scripts/fetch-node18.sh')], { encoding: 'utf8' }).trim();
    expect(aboveEl7(await neededSymbolVersions(node18))).toEqual(expect.arrayContaining(['GLIBC_2.28', 'GLIBCXX_3.4.21', 'CXXABI_1.3.9']));
  });

  it('runs --help through its launcher, called through a symlink from elsewhere, with no node on PATH', async () => {
    expect(() => execFileSync('sh', ['-c', 'command -v node'], { env: { PATH: path } })).toThrow();
    // Two links, as an operator might make them: a relative one to an absolute one.
    const links = join(work, 'usr-local-bin');
    const other = join(work, 'opt-bin');
    mkdirSync(links);
    mkdirSync(other);
    symlinkSync(artifact.launcher, join(other, 'dmm'));
    symlinkSync('../opt-bin/dmm', join(links, 'devmapper-migrate'));
    const result = await runLauncher('devmapper-migrate', `${links}:${path}`, ['--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: devmapper-migrate/);
    const version = await runLauncher(artifact.launcher, path, ['--version']);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('runs preflight --json against a rig daemon, on the bundled Node 16.20.2', async () => {
    const stateDir = join(work, 'state');
    const result = await runLauncher(artifact.launcher, path, ['--docker-host', daemon.dockerHost, '--daemon-config', daemon.configFile, '--state-dir', stateDir, 'preflight', '--json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as {
      facts: { docker: { daemon: { driver: string } }; host: { dataRoot: { space?: { availableBytes: number } } } };
      summary: { blockers: number };
    };
    expect(report.facts.docker.daemon.driver).toBe('vfs');
    // Free space comes from `stat -f` now (fs.statfs is newer than Node 16).
    expect(report.facts.host.dataRoot.space?.availableBytes).toBeGreaterThan(0);
    expect(result.code).toBe(report.summary.blockers > 0 ? 1 : 0);
    const runtime = execFileSync(join(artifact.top, 'runtime/bin/node'), ['--version'], { encoding: 'utf8' }).trim();
    expect(runtime).toBe('v16.20.2');
  });
});
