// The release tarball (scripts/package.sh), unpacked as an operator would, and run the way a
// RHEL 7 host runs it: through its launcher, with no other Node on PATH.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ensureDist, rigRuntimeEnv } from './cli.js';
import { REPO_ROOT } from './paths.js';
import { run, runOk, type RunResult } from './proc.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const ARTIFACT = join(REPO_ROOT, 'dist', `devmapper-migrate-${VERSION}-linux-x64.tar.gz`);

/** The newest input the tarball is made from: the bundle, the launcher and the packaging script. */
function newestInput(): number {
  return Math.max(...[join(REPO_ROOT, 'dist', 'devmapper-migrate.mjs'), join(REPO_ROOT, 'packaging'), join(REPO_ROOT, 'scripts', 'package.sh')].map((p) => statSync(p).mtimeMs));
}

/** Builds the bundle and the tarball when missing or older than their inputs; returns the tarball. */
export async function ensureArtifact(): Promise<string> {
  await ensureDist();
  if (!existsSync(ARTIFACT) || statSync(ARTIFACT).mtimeMs < newestInput()) {
    await runOk('bash', [join(REPO_ROOT, 'scripts', 'package.sh')], { cwd: REPO_ROOT, timeoutMs: 300_000 });
  }
  return ARTIFACT;
}

export interface UnpackedArtifact {
  /** The fresh directory it was unpacked into. */
  dir: string;
  /** Its one top folder. */
  top: string;
  launcher: string;
}

/** Unpacks the tarball into a fresh directory (under `parent`, default the temp dir). */
export async function unpackArtifact(parent = tmpdir()): Promise<UnpackedArtifact> {
  const tarball = await ensureArtifact();
  const dir = mkdtempSync(join(parent, 'dmm-artifact-'));
  await runOk('tar', ['-xzf', tarball, '-C', dir]);
  const entries = readdirSync(dir);
  if (entries.length !== 1) throw new Error(`the tarball has ${entries.length} top entries: ${entries.join(', ')}`);
  const top = join(dir, entries[0]!);
  return { dir, top, launcher: join(top, 'bin', 'devmapper-migrate') };
}

const NODE_COMMANDS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

/**
 * A PATH with every command of this one except Node's (this machine has /usr/bin/node): one
 * directory of symlinks, made under `dir`. A launcher that fell back to a node from PATH fails.
 */
export function pathWithoutNode(dir: string): string {
  const bin = join(dir, 'path-without-node');
  mkdirSync(bin, { recursive: true });
  for (const source of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(source);
    } catch {
      continue;
    }
    for (const name of names) {
      if (NODE_COMMANDS.has(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(source, name), join(bin, name));
    }
  }
  return bin;
}

/** Runs the unpacked tool through its launcher with `path` as PATH and no DOCKER_HOST from the caller. */
export function runLauncher(launcher: string, path: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const base = { ...process.env };
  delete base.DOCKER_HOST;
  delete base.NODE_OPTIONS;
  return run(launcher, args, { cwd: tmpdir(), env: { ...base, NO_COLOR: '1', ...rigRuntimeEnv(args), ...env, PATH: path }, timeoutMs: 300_000 });
}

/** The limits a binary must keep to start on RHEL/CentOS 7 (glibc 2.17, GCC 4.8's libstdc++). */
export const EL7_SYMBOL_LIMITS: Record<string, string> = { GLIBC: '2.17', GLIBCXX: '3.4.19', CXXABI: '1.3.7' };

/** Every ELF file under a directory (by its magic number). */
export function elfFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return elfFiles(path);
    if (!entry.isFile()) return [];
    const head = readFileSync(path).subarray(0, 4);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ? [path] : [];
  });
}

/** The versioned symbols a dynamic ELF file needs, as `objdump -T` lists them (e.g. "GLIBC_2.14"). */
export async function neededSymbolVersions(file: string): Promise<string[]> {
  const stdout = await runOk('objdump', ['-T', file]);
  // Undefined (*UND*) symbols are what the file needs from the system; defined ones it provides.
  const versions = stdout
    .split('\n')
    .filter((line) => line.includes('*UND*'))
    .map((line) => /\b((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)\b/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined);
  return [...new Set(versions)].sort();
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The needed versions above EL7_SYMBOL_LIMITS (none on a binary that starts on RHEL 7). */
export function aboveEl7(versions: readonly string[]): string[] {
  return versions.filter((v) => {
    const [, family, number] = /^(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)$/.exec(v) ?? [];
    return family !== undefined && number !== undefined && compareVersions(number, EL7_SYMBOL_LIMITS[family]!) > 0;
  });
}
