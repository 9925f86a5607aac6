import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The single-file build must run with plain `node` and no node_modules, on Node 16.20 (the
// release tarball's runtime, and EPEL 7's), 18.19 (RHEL 8/9) and this machine's Node. Loading
// it on 16.20 catches what the type check cannot see: a dependency that needs a newer Node. It
// is copied outside the repo so that nothing can be resolved from the project's node_modules.
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
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
  const node16 = join(execFileSync('bash', [join(repo, 'scripts/fetch-node16.sh')], { encoding: 'utf8' }).trim(), 'bin/node');
  const node18 = execFileSync('bash', [join(repo, 'scripts/fetch-node18.sh')], { encoding: 'utf8' }).trim();
  runtimes.push(['node 16.20.2', node16], ['node 18.19.0', node18], [`node ${process.version}`, process.execPath]);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('single-file build', () => {
  it('runs on Node 16.20, 18.19 and this Node, listing every contract command', () => {
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

  it('stops writing quietly when its reader goes away (`verify | head`)', () => {
    // The reader closes its end at once, so the bundle's first write meets a closed pipe.
    const script = `"$0" "$1" --help 2>"$2" | (exec 0<&-; sleep 2); exit "\${PIPESTATUS[0]}"`;
    for (const [, node] of runtimes) {
      const errFile = join(dir, 'epipe.err');
      const result = spawnSync('bash', ['-c', script, node, bundle, errFile], { encoding: 'utf8', timeout: 60_000 });
      expect(readFileSync(errFile, 'utf8')).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it('tells a user who is not root to run as root, without a stack trace', () => {
    // A state dir only root can enter, read by `nobody`: was an "internal error" with a stack.
    chmodSync(dir, 0o755); // nobody must be able to read the bundle itself
    const stateDir = join(dir, 'root-only');
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, 'current'), 'x\n');
    const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bundle, 'status', '--state-dir', stateDir], {
      cwd: '/',
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toContain('permission denied (EACCES)');
    expect(result.stderr).toContain('Run devmapper-migrate as root');
    expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
    expect(result.status).toBe(4);
  });

  // dockerode's ssh, gRPC and protobuf code is never called: left out, it was over a third of the file.
  it('stays small: at most 2.5 MB, without ssh2, gRPC or protobuf', () => {
    expect(statSync(bundle).size).toBeLessThanOrEqual(2_500_000);
    const text = readFileSync(bundle, 'utf8');
    expect(text).toContain('is left out of the single-file build of devmapper-migrate');
    expect(text).not.toMatch(/KEXINIT_CLIENT|grpc-accept-encoding|protobuf\.Root/);
  });
});
