import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The single-file build must run with plain `node` and no node_modules, on Node 18.19 (users'
// old hosts) as well as on this machine's Node. It is copied outside the repo so that nothing
// can be resolved from the project's node_modules.
const repo = join(import.meta.dirname, '..', '..');
const CONTRACT_COMMANDS = ['preflight', 'inventory', 'run', 'resume', 'status', 'verify', 'rollback', 'finalize', 'answers'];

let dir: string;
let bundle: string;
const runtimes: [string, string][] = [];

beforeAll(() => {
  // Always rebuilt (under a second): the checks below are about the build of these sources.
  execFileSync('node', ['scripts/bundle.mjs'], { cwd: repo, stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'dmm-dist-'));
  bundle = join(dir, 'devmapper-migrate.mjs');
  copyFileSync(join(repo, 'dist/devmapper-migrate.mjs'), bundle);
  const node18 = execFileSync('bash', [join(repo, 'scripts/fetch-node18.sh')], { encoding: 'utf8' }).trim();
  runtimes.push(['node 18.19.0', node18], [`node ${process.version}`, process.execPath]);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('single-file build', () => {
  it('runs on Node 18.19 and on this Node, listing every contract command', () => {
    for (const [label, node] of runtimes) {
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      expect(label).toContain(version.replace(/^v/, ''));
      const help = execFileSync(node, [bundle, '--help'], { cwd: dir, encoding: 'utf8' });
      for (const command of CONTRACT_COMMANDS) expect(help).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('has no test hooks compiled in; the separate test build has them', () => {
    // Issue 19 item 10: a kill-pid file holding -1 made the shipped tool kill every process.
    const hookWords = ['DEVMAPPER_MIGRATE_TEST_KILL_AT', 'DEVMAPPER_MIGRATE_TEST_KILL_PIDFILE', 'DEVMAPPER_MIGRATE_TEST_KILL_SIGNAL', 'DEVMAPPER_MIGRATE_TEST_CERTS_D'];
    const release = readFileSync(bundle, 'utf8');
    for (const word of hookWords) expect(release, word).not.toContain(word);
    const testBuild = readFileSync(join(repo, '.cache/test-build/devmapper-migrate.mjs'), 'utf8');
    for (const word of hookWords) expect(testBuild, word).toContain(word);
  });

  it('loads the Docker client and reports an unreachable daemon without a stack trace', () => {
    for (const [, node] of runtimes) {
      const socket = join(dir, 'nothing-listens-here.sock');
      const result = spawnSync(node, [bundle, '--docker-host', `unix://${socket}`, 'inventory'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(socket);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
