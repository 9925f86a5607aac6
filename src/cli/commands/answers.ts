import { open } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { MAX_ANSWERS_FILE_BYTES, missingAnswers, MissingAnswersError, parseAnswersFile, resolveAnswers } from '../../config/answers.js';
import type { Answers } from '../../config/answers.js';
import { answersTemplate } from '../../config/answers-template.js';
import { checkAnswerInputs, checkTrustedInput } from '../../config/input-trust.js';
import { NodeHost } from '../../host/node-host.js';
import type { CommandContext } from '../../run/command-context.js';

/** `answers --template` prints the commented template; `answers --check FILE` checks a file (exit 0 or 2). */
export async function answersCommand(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  if (options.template && options.check) {
    throw new UsageError('answers takes --template or --check FILE, not both.', 'Run it once for each.');
  }
  if (options.template) {
    ctx.stdout(answersTemplate());
    return 0;
  }
  if (typeof options.check === 'string') return checkFile(ctx, options.check);
  throw new UsageError(
    'answers needs --template or --check FILE.',
    '"devmapper-migrate answers --template > answers.yaml" writes a file to fill in; ' +
      '"devmapper-migrate answers --check answers.yaml" checks one for an unattended run.',
  );
}

async function checkFile(ctx: CommandContext, path: string): Promise<number> {
  const partial = await loadAnswersFile(path);
  // An unattended run stops on a missing answer: the check says so now, with the same words.
  const missing = missingAnswers(partial);
  if (missing.length > 0) throw new MissingAnswersError(path, missing);
  const resolved = resolveAnswers(partial, { stateDir: ctx.options.stateDir, source: path });
  await checkAnswerInputs(new NodeHost(ctx.options.hostRoot), resolved, ctx.options.stateDir);
  if (ctx.options.json) ctx.stdout(`${JSON.stringify({ file: path, valid: true, answers: resolved }, null, 2)}\n`);
  else ctx.stdout(`${path}: valid; a run can use it unattended (target ${resolved.target}).\n`);
  return 0;
}

/** Reads and parses an answers file; every problem (missing, unreadable, invalid) is a UsageError. */
export async function loadAnswersFile(path: string): Promise<Answers> {
  // Read as the operator named it, not under --host-root: the file is the operator's, not the host's.
  await checkTrustedInput(new NodeHost('/'), { what: 'The answers file', path });
  return parseAnswersFile(await readAnswersFile(path), path);
}

/** The text of an answers file: refused without reading it all when it is too big or not UTF-8. */
export async function readAnswersFile(path: string): Promise<string> {
  const remedy = 'Give --answers (or --check) a readable YAML or JSON answers file.';
  let bytes: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw new UsageError(`answers file ${path} is not a regular file.`, remedy);
      // Read one byte more than allowed: a file that grew since stat() is still caught.
      const buffer = Buffer.alloc(Math.min(stat.size, MAX_ANSWERS_FILE_BYTES) + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      if (stat.size > MAX_ANSWERS_FILE_BYTES || bytesRead > MAX_ANSWERS_FILE_BYTES) {
        throw new UsageError(
          `${path}: is too big (${Math.max(stat.size, bytesRead)} bytes; an answers file is at most ${MAX_ANSWERS_FILE_BYTES / 1024} KiB).`,
          remedy,
        );
      }
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`;
    throw new UsageError(`answers file ${path} ${why}.`, remedy);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path}: is not UTF-8 text: this is not an answers file.`, remedy);
  }
}
