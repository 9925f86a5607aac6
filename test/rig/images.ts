// Offline images for tests and the docker CLI wrapper. Nothing is pulled: the base image is
// a busybox-static root imported with `docker import`, and everything else is built FROM it
// with the classic builder (Debian's 20.10 client, DOCKER_BUILDKIT=0).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CACHE_DIR, DOCKER_CLIENT } from './paths.js';
import { run, runOk, type RunOptions } from './proc.js';

/** The offline base image every test builds FROM. */
export const BASE_IMAGE = 'dmm-test/busybox:1';

/** Where to send docker CLI commands: a daemon handle or its plain info both fit. */
export interface DockerTarget {
  dockerHost: string;
  /** A private CLI config dir (registry logins); ~/.docker is left alone when set. */
  clientConfig?: string;
}

function clientArgs(target: DockerTarget): string[] {
  return [...(target.clientConfig ? ['--config', target.clientConfig] : []), '-H', target.dockerHost];
}

function clientEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // DOCKER_HOST/DOCKER_CONTEXT from the caller's shell must not redirect the rig's commands.
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false', ...extra };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

/** Runs /usr/bin/docker against the target and returns stdout (trailing newline trimmed); throws with stderr. */
export async function docker(target: DockerTarget, ...args: string[]): Promise<string> {
  return dockerWith(target, args);
}

/** docker() with stdin, extra environment or a timeout. */
export async function dockerWith(target: DockerTarget, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const out = await runOk(DOCKER_CLIENT, [...clientArgs(target), ...args], {
    timeoutMs: 300_000,
    ...options,
    env: clientEnv(options.env),
  });
  return out.replace(/\n$/, '');
}

/** Runs the docker CLI and returns exit code and output without throwing. */
export async function dockerTry(target: DockerTarget, ...args: string[]) {
  return run(DOCKER_CLIENT, [...clientArgs(target), ...args], { timeoutMs: 300_000, env: clientEnv() });
}

/** Logs the target's CLI into a registry (password on stdin, never on the command line). */
export async function dockerLogin(
  target: DockerTarget,
  registry: { address: string; username: string; password: string },
): Promise<void> {
  await dockerWith(target, ['login', '--username', registry.username, '--password-stdin', registry.address], {
    input: registry.password,
  });
}

// Applets linked into the base image (busybox --list-full gives each one's usual path).
async function busyboxApplets(): Promise<string[]> {
  const out = await runOk('/bin/busybox', ['--list-full']);
  return out.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** Builds (once, cached under .cache/) the tarball of a busybox-static root file system. */
export async function baseRootTarball(): Promise<string> {
  const busybox = readFileSync('/bin/busybox');
  const digest = createHash('sha256').update(busybox).digest('hex').slice(0, 16);
  const tarball = join(CACHE_DIR, `busybox-root-${digest}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(CACHE_DIR, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'dmm-busybox-root-'));
  try {
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'tmp', 'var/tmp', 'proc', 'sys', 'dev']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    for (const dir of ['tmp', 'var/tmp']) chmodSync(join(root, dir), 0o1777);
    writeFileSync(join(root, 'bin/busybox'), busybox, { mode: 0o755 });
    for (const applet of await busyboxApplets()) {
      const path = join(root, applet);
      if (existsSync(path)) continue;
      mkdirSync(dirname(path), { recursive: true });
      symlinkSync('/bin/busybox', path);
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const partial = `${tarball}.${process.pid}.partial`;
    await runOk('tar', [
      '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=2024-01-01 00:00Z',
      '--mode=u+rw', '-C', root, '-cf', partial, '.',
    ]);
    renameSync(partial, tarball);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tarball;
}

/** Imports the busybox base image into the daemon (offline) and returns its image ID. */
export async function seedBaseImage(target: DockerTarget): Promise<string> {
  const tarball = await baseRootTarball();
  await dockerWith(target, [
    'import',
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'CMD ["/bin/sh"]',
    tarball,
    BASE_IMAGE,
  ]);
  return docker(target, 'image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE);
}

/**
 * Builds an image with the classic builder from Dockerfile text and optional context files
 * (relative path → content); returns its image ID.
 */
export async function buildImage(
  target: DockerTarget,
  tag: string,
  dockerfile: string,
  contextFiles: Record<string, string | Buffer> = {},
): Promise<string> {
  const context = mkdtempSync(join(tmpdir(), 'dmm-build-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), dockerfile);
    for (const [path, content] of Object.entries(contextFiles)) {
      mkdirSync(dirname(join(context, path)), { recursive: true });
      writeFileSync(join(context, path), content);
    }
    await dockerWith(target, ['build', '--quiet', '--tag', tag, context]);
    return docker(target, 'image', 'inspect', '--format', '{{.Id}}', tag);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
