import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkAnswerInputs, checkTrustedInput } from '../../../src/config/input-trust.js';
import { UsageError } from '../../../src/errors.js';
import { NodeHost } from '../../../src/host/node-host.js';

// Issue 19 item 11: the answers file, registry.passwordFile and backup.directory steer a run
// as root, so whoever may change them (or a directory above them) must be root. Real files on
// this host (the tests run as root, so they can hand files to another uid).
const host = new NodeHost('/');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmm-input-trust-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, mode = 0o600, uid = 0): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'target: overlay2\n');
  chmodSync(path, mode);
  chownSync(path, uid, 0);
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

const answers = (path: string) => checkTrustedInput(host, { what: 'The answers file', path });

describe('checkTrustedInput', () => {
  it('accepts a root-owned file in root-owned directories, under the sticky /tmp', async () => {
    await answers(file('answers.yaml', 0o644));
  });

  it('refuses a file others or its group can write, naming it and the fix', async () => {
    for (const mode of [0o666, 0o664]) {
      const path = file(`w${mode}.yaml`, mode);
      const error = await refusal(answers(path));
      expect(error.message).toContain(`The answers file ${path} cannot be trusted: ${path} can be written by`);
      expect(error.remedy).toContain(`chown root ${path} && chmod go-w ${path}`);
    }
  });

  it('refuses a file owned by another user', async () => {
    const path = file('theirs.yaml', 0o644, 1000);
    expect((await refusal(answers(path))).message).toContain(`${path} belongs to uid 1000`);
  });

  it('refuses a file in a directory others can write, or one another user owns', async () => {
    const open = join(dir, 'open');
    const path = file('open/answers.yaml');
    chmodSync(open, 0o777);
    expect((await refusal(answers(path))).message).toContain(`${open} can be written by its group and other users (mode 0777)`);
    chmodSync(open, 0o755);
    chownSync(open, 1000, 0);
    expect((await refusal(answers(path))).message).toContain(`${open} belongs to uid 1000`);
  });

  it('refuses a symlink to a file in an untrusted place (the real path is checked)', async () => {
    const target = file('theirs/answers.yaml');
    chownSync(join(dir, 'theirs'), 1000, 0);
    const link = join(dir, 'link.yaml');
    symlinkSync(target, link);
    expect((await refusal(answers(link))).message).toContain(`belongs to uid 1000`);
  });

  it('refuses a password file its group or others can read: /etc/shadow, 0640, 0644', async () => {
    const secret = (path: string) => checkTrustedInput(host, { what: 'registry.passwordFile', path, secret: true });
    await secret(file('pass', 0o600));
    expect((await refusal(secret('/etc/shadow'))).message).toMatch(/can be read by others than its owner \(mode 06[0-9]0\)/);
    for (const mode of [0o640, 0o644]) expect((await refusal(secret(file(`p${mode}`, mode)))).remedy).toContain('chmod 600');
    expect((await refusal(secret(dir))).message).toContain('is not a regular file');
  });

  it('checks a backup.directory that does not exist yet by its nearest existing parent', async () => {
    await checkAnswerInputs(host, { backup: { directory: join(dir, 'new', 'backups') } });
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const error = await refusal(checkAnswerInputs(host, { backup: { directory: join(open, 'backups') } }));
    expect(error.message).toContain(`backup.directory ${join(open, 'backups')} cannot be trusted: ${open} can be written by its group and other users`);
  });

  it('checks only the directories above the state directory when backup.directory is it (the state dir has its own check)', async () => {
    const state = join(dir, 'state');
    mkdirSync(state);
    chownSync(state, 65534, 0);
    await checkAnswerInputs(host, { backup: { directory: state } }, state);
    chmodSync(dir, 0o777);
    const error = await refusal(checkAnswerInputs(host, { backup: { directory: state } }, state));
    expect(error.message).toContain(`The state directory ${state} cannot be trusted: ${dir} can be written by`);
    chmodSync(dir, 0o700);
  });
});
