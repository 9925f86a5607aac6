// Running the real single-file build, as operators do, from integration tests.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, RIG_DIR } from './paths.js';
import { run, runOk, type RunResult } from './proc.js';

export const DIST = join(REPO_ROOT, 'dist', 'devmapper-migrate.mjs');
/** The same tool with its fault-injection hooks compiled in (scripts/bundle.mjs): for tests that set them. */
export const TEST_DIST = join(REPO_ROOT, '.cache', 'test-build', 'devmapper-migrate.mjs');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), stat.mtimeMs);
}

/** Rebuilds dist/devmapper-migrate.mjs and the test build when either is missing or older than src/, bin/ or the lockfile. */
export async function ensureDist(): Promise<string> {
  const sources = ['src', 'bin', 'package-lock.json', 'scripts/bundle.mjs'].map((p) => join(REPO_ROOT, p)).filter(existsSync);
  const newestSource = Math.max(...sources.map(newestMtime));
  if ([DIST, TEST_DIST].some((bundle) => !existsSync(bundle) || statSync(bundle).mtimeMs < newestSource)) {
    await runOk(process.execPath, ['scripts/bundle.mjs'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  }
  return DIST;
}

/**
 * Where the tool's private dockerd (pre-staging) keeps its socket, exec-root and pid file when
 * it runs against a rig daemon: inside that daemon's directory (the rig's teardown and sweeper
 * kill every process naming it and remove it, also after a failed test), and short, for the
 * socket path's 108 bytes. A caller's own DEVMAPPER_MIGRATE_RUNTIME_DIR wins.
 */
export function rigRuntimeEnv(args: readonly string[]): NodeJS.ProcessEnv {
  const at = args.indexOf('--docker-host');
  const dockerHost = at >= 0 ? args[at + 1] : undefined;
  const socket = dockerHost?.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
  if (!socket?.startsWith(`${RIG_DIR}/`)) return {};
  return { DEVMAPPER_MIGRATE_RUNTIME_DIR: join(dirname(socket), 'rt') };
}

/**
 * Runs `node dist/devmapper-migrate.mjs ARGS` without DOCKER_HOST leaking in from the caller;
 * the test build instead when `env` sets a test hook (DEVMAPPER_MIGRATE_TEST_*), which the
 * release build ignores.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const base = { ...process.env };
  delete base.DOCKER_HOST;
  const bundle = Object.keys(env).some((name) => name.startsWith('DEVMAPPER_MIGRATE_TEST_')) ? TEST_DIST : DIST;
  return run(process.execPath, [bundle, ...args], { cwd: REPO_ROOT, env: { ...base, NO_COLOR: '1', ...rigRuntimeEnv(args), ...env }, timeoutMs: 300_000 });
}
