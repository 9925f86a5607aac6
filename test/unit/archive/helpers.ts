// Shared fixtures for the archive tests: a tree with every kind of file, xattr and mknod
// helpers backed by real getfattr/setfattr/mknod (tests may run processes; src/archive may not).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readdirSync, lstatSync, readlinkSync } from 'node:fs';
import { chmod, chown, lchown, link, mkdir, mkdtemp, rm, symlink, truncate, utimes, writeFile, open } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  extractArchive,
  formatSetfattrRestore,
  getfattrArgs,
  packIntoFile,
  parseGetfattrDump,
  SETFATTR_RESTORE_ARGS,
  type ExtractOptions,
  type NodeMaker,
  type PackOptions,
  type XattrReader,
  type XattrWriter,
} from '../../../src/archive/index.js';

export const isRoot = process.getuid?.() === 0;

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const haveXattrTools = hasCommand('getfattr') && hasCommand('setfattr');

/** xattr reader backed by one getfattr call, as src/host would do it. */
export const readXattrs: XattrReader = async (root) => {
  const text = execFileSync('getfattr', getfattrArgs(root), { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  return parseGetfattrDump(text, root);
};

/** xattr writer backed by one setfattr --restore call. */
export const writeXattrs: XattrWriter = async (root, entries) => {
  execFileSync('setfattr', [...SETFATTR_RESTORE_ARGS], { input: formatSetfattrRestore(entries, root) });
};

/** mknod backed by the mknod command. */
export const makeNode: NodeMaker = async (abs, node) => {
  const type = node.kind === 'fifo' ? ['p'] : [node.kind === 'character-device' ? 'c' : 'b', String(node.major), String(node.minor)];
  execFileSync('mknod', ['-m', node.mode.toString(8), abs, ...type]);
};

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `dmm-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Whether the filesystem under `dir` takes user.* extended attributes. */
export function xattrsSupported(dir: string): boolean {
  if (!haveXattrTools) return false;
  const probe = path.join(dir, '.xattr-probe');
  try {
    execFileSync('touch', [probe]);
    execFileSync('setfattr', ['-n', 'user.probe', '-v', '1', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-f', probe]);
  }
}

export const LONG_NAME = `long-${'n'.repeat(140)}.txt`;
export const ODD_NAMES = ['with space', 'ünïcödé-名前.txt', 'new\nline', 'tab\there', 'back\\slash', LONG_NAME];

/**
 * Builds a tree with every kind of entry the archive must carry. Returns what it put in
 * (so tests can check that an optional kind was really there).
 */
export async function buildRichTree(dir: string): Promise<{ xattrs: boolean; devices: boolean }> {
  await writeFile(path.join(dir, 'plain.txt'), 'hello\n');
  await writeFile(path.join(dir, 'empty'), '');
  // Large and mostly holes: content at a few offsets of a 6 MB file.
  const big = path.join(dir, 'big.bin');
  await writeFile(big, '');
  await truncate(big, 6 * 1024 * 1024 + 123);
  const handle = await open(big, 'r+');
  for (const offset of [0, 1024 * 1024 + 7, 5 * 1024 * 1024]) await handle.write(createHash('sha256').update(String(offset)).digest(), 0, 32, offset);
  await handle.close();
  await mkdir(path.join(dir, 'a/b/c'), { recursive: true });
  await writeFile(path.join(dir, 'a/b/c/deep.txt'), 'deep\n');
  // Deep path over 255 bytes, to need PAX/long names for directories too.
  const deep = path.join(dir, ...Array.from({ length: 5 }, (_, i) => `level-${i}-${'d'.repeat(60)}`));
  await mkdir(deep, { recursive: true });
  await writeFile(path.join(deep, 'leaf.txt'), 'leaf\n');
  for (const name of ODD_NAMES) await writeFile(path.join(dir, name), `name: ${name}\n`);
  await symlink('a/b/c/deep.txt', path.join(dir, 'link-relative'));
  await symlink('/etc/hostname', path.join(dir, 'link-absolute'));
  await symlink('nowhere/at/all', path.join(dir, 'link-dangling'));
  await symlink(`${'t/'.repeat(80)}target`, path.join(dir, 'link-long-target'));
  await symlink('../plain.txt', path.join(dir, 'a/link-up'));
  await writeFile(path.join(dir, 'hard-1'), 'shared inode\n');
  await link(path.join(dir, 'hard-1'), path.join(dir, 'a/hard-2'));
  await link(path.join(dir, 'hard-1'), path.join(dir, 'hard-3'));
  await writeFile(path.join(dir, 'secret'), 'secret\n');
  await chmod(path.join(dir, 'secret'), 0o600);
  await writeFile(path.join(dir, 'script.sh'), '#!/bin/sh\n');
  await chmod(path.join(dir, 'script.sh'), 0o755);
  await writeFile(path.join(dir, 'setuid'), 'suid\n');
  await mkdir(path.join(dir, 'sticky'));
  await chmod(path.join(dir, 'sticky'), 0o1777);
  await mkdir(path.join(dir, 'setgid-dir'));
  await chmod(path.join(dir, 'setgid-dir'), 0o2750);
  await mkdir(path.join(dir, 'empty-dir'));
  if (isRoot) {
    await chown(path.join(dir, 'plain.txt'), 1234, 2345);
    await chown(path.join(dir, 'a/b'), 1000, 1000);
    await lchown(path.join(dir, 'link-relative'), 4321, 5432);
    await chown(path.join(dir, 'setuid'), 1500, 1500);
    await chown(path.join(dir, 'secret'), 300000, 300001); // beyond ustar's 6 octal digits
  }
  await chmod(path.join(dir, 'setuid'), 0o4755);
  let xattrs = false;
  if (xattrsSupported(dir)) {
    execFileSync('setfattr', ['-n', 'user.test', '-v', 'hello world', path.join(dir, 'plain.txt')]);
    execFileSync('setfattr', ['-n', 'user.bin', '-v', '0xff00fe80', path.join(dir, 'plain.txt')]);
    execFileSync('setfattr', ['-n', 'user.dir', '-v', 'on a directory', path.join(dir, 'a')]);
    execFileSync('setfattr', ['-n', 'user.odd', '-v', 'odd', path.join(dir, 'new\nline')]);
    xattrs = true;
  }
  let devices = false;
  if (isRoot && hasCommand('mknod')) {
    execFileSync('mknod', ['-m', '0640', path.join(dir, 'fifo'), 'p']);
    execFileSync('mknod', ['-m', '0666', path.join(dir, 'null-device'), 'c', '1', '3']);
    execFileSync('mknod', ['-m', '0660', path.join(dir, 'block-device'), 'b', '7', '200']);
    devices = true;
  }
  // Times last: sub-second precision on files, and directories after their contents.
  await utimes(path.join(dir, 'plain.txt'), 1_600_000_000.25, 1_600_000_000.123456);
  execFileSync('touch', ['-h', '-d', '@1500000000.987654321', path.join(dir, 'link-relative')]);
  execFileSync('touch', ['-d', '@1234567890.000000001', path.join(dir, 'script.sh')]);
  await utimes(path.join(dir, 'a/b'), 1_400_000_000, 1_400_000_000.5);
  await utimes(dir, 1_300_000_000, 1_300_000_000.75);
  return { xattrs, devices };
}

/** Packs `dir` into `file` with the test helpers; returns the result. */
export async function packToFile(dir: string, file: string, options: PackOptions = {}) {
  return packIntoFile(dir, file, { readXattrs: haveXattrTools ? readXattrs : undefined, ...options });
}

/** Extracts `file` into `dir` with the test helpers. */
export async function extractFile(file: string, dir: string, options: ExtractOptions = {}) {
  return extractArchive(createReadStream(file, { highWaterMark: 1024 * 1024 }), dir, {
    writeXattrs: haveXattrTools ? writeXattrs : undefined,
    makeNode,
    allowDevices: true,
    ...options,
  });
}

export function extractBuffer(buffer: Buffer, dir: string, options: ExtractOptions = {}) {
  return extractArchive(Readable.from([buffer]), dir, options);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every path under `dir` with its kind and content/target: a snapshot to prove nothing changed. */
export function snapshot(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    const abs = path.join(dir, rel);
    if (abs === skip) return;
    const stat = lstatSync(abs);
    if (stat.isSymbolicLink()) out.set(rel, `symlink ${readlinkSync(abs)}`);
    else if (stat.isFile()) out.set(rel, `file ${stat.mode.toString(8)} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
    else if (stat.isDirectory()) {
      out.set(rel, `dir ${stat.mode.toString(8)}`);
      for (const name of readdirSync(abs)) visit(path.join(rel, name));
    } else out.set(rel, `other ${stat.mode.toString(8)}`);
  };
  visit('.');
  return out;
}

/** A unix socket file at `file`; call the returned function to close it. */
export async function makeSocket(file: string): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
