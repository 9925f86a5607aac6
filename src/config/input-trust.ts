/**
 * Inputs that steer a run as root must be as trusted as root (issue 19 item 11): the answers
 * file runs `service.start` through a shell and names the disk to wipe, the password file
 * holds a secret, and backup.directory receives the archives the run restores from. Whoever
 * can change one of them, or any directory above it, could change what root does. So each is
 * refused when it, or a directory on its way from /, is owned by another user or writable by
 * group or others (a root-owned sticky directory such as /tmp is fine: no one else can rename
 * or remove what root put there). A password file must also be readable by its owner alone.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { FileStat, Host } from '../host/host.js';

export interface TrustedInput {
  /** What it is, for messages: "The answers file", "registry.passwordFile". */
  what: string;
  path: string;
  /** A secret: also refused when group or others may read it; must be a regular file. */
  secret?: boolean;
  /** A directory the run may still create (backup.directory): the nearest existing one is checked. */
  mayBeMissing?: boolean;
  /** Only the directories above it: it has a stricter check of its own (the state directory). */
  parentsOnly?: boolean;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** The path and every directory above it, up to /. */
function chain(file: string): string[] {
  const out: string[] = [];
  for (let p = file; ; p = path.dirname(p)) {
    out.push(p);
    if (p === path.dirname(p)) return out;
  }
}

/** Owners this run may trust: root, and the user running it (the same when run as root). */
function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? 0);
}

/** Why `info` (at `p`) lets someone else change what it holds, or undefined. */
function untrusted(p: string, info: FileStat): string | undefined {
  if (info.kind === 'symlink') return undefined; // its target is checked; the link itself has no permissions
  if (!trustedOwner(info.uid)) return `${p} belongs to uid ${info.uid}`;
  const sticky = info.kind === 'directory' && (info.mode & 0o1000) !== 0 && info.uid === 0;
  if ((info.mode & 0o022) === 0 || sticky) return undefined;
  const who = [(info.mode & 0o020) !== 0 && 'its group', (info.mode & 0o002) !== 0 && 'other users'].filter(Boolean).join(' and ');
  return `${p} can be written by ${who} (mode ${octal(info.mode)})`;
}

/** Throws a UsageError naming the first reason `input` cannot be trusted. */
export async function checkTrustedInput(host: Host, input: TrustedInput): Promise<void> {
  const given = path.resolve(input.path);
  let start = given;
  while (input.mayBeMissing && !(await host.stat(start)) && start !== path.dirname(start)) start = path.dirname(start);
  const real = await host.realpath(start);
  if (real === undefined) return; // missing: whoever reads it says so
  // The real path's chain, and the given path's own directories (a symlink on the way could be swapped by whoever may write there).
  const paths = [...new Set([...chain(real), ...chain(start).slice(1)])].filter((p) => !(input.parentsOnly && start === given && p === real));
  for (const p of paths) {
    const info = await host.stat(p);
    const why = info && untrusted(p, info);
    if (!why) continue;
    throw new UsageError(
      `${input.what} ${input.path} cannot be trusted: ${why}, so someone other than root could change what this tool does as root.`,
      `Make it and every directory above it owned by root and writable by root alone: chown root ${p} && chmod go-w ${p}; or move the file to a directory only root can write.`,
    );
  }
  if (input.secret) await checkSecret(host, input, real);
}

async function checkSecret(host: Host, input: TrustedInput, real: string): Promise<void> {
  const info = await host.stat(real);
  if (!info || info.kind !== 'file') {
    throw new UsageError(`${input.what} ${input.path} is not a regular file.`, `Write the password alone into a file of its own (chmod 600), and name that file.`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw new UsageError(
      `${input.what} ${input.path} can be read by others than its owner (mode ${octal(info.mode)}); a password file is for root alone.`,
      `Run "chmod 600 ${real}" if it is a file of its own for this password, or put the password in a new file with mode 0600 (or use registry.passwordEnv).`,
    );
  }
}

/**
 * The files and directories the resolved answers name that a run trusts: the password file and
 * backup.directory. When that is the state directory (the default), only the directories above
 * it: the state directory itself must be this user's and 0700 (prepareStateDir says so).
 */
export async function checkAnswerInputs(host: Host, answers: { registry?: { passwordFile?: string }; backup: { directory: string } }, stateDir?: string): Promise<void> {
  if (answers.registry?.passwordFile) await checkTrustedInput(host, { what: 'registry.passwordFile', path: answers.registry.passwordFile, secret: true });
  const isStateDir = stateDir !== undefined && path.resolve(stateDir) === path.resolve(answers.backup.directory);
  await checkTrustedInput(host, { what: isStateDir ? 'The state directory' : 'backup.directory', path: answers.backup.directory, mayBeMissing: true, parentsOnly: isStateDir });
}
