import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersTemplate } from '../../../src/config/answers-template.js';
import { runCli } from '../run-cli.js';

const template = answersTemplate();

describe('the answers command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmm-answers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => runCli(args);
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('prints the template with --template', async () => {
    expect(await run(['answers', '--template'])).toEqual({ code: 0, out: template, err: '' });
  });

  it('says what it supports without an option (exit 2)', async () => {
    const { code, err } = await run(['answers']);
    expect(code).toBe(2);
    expect(err).toContain('answers needs --template or --check FILE.');
  });

  it('--check refuses what others than root could change, and a password file others can read (issue 19 item 11)', async () => {
    const shadow = file('shadow.yaml', 'target: overlay2\nimages:\n  push: true\nregistry:\n  address: reg.lan:5000\n  username: u\n  passwordFile: /etc/shadow\n');
    const refused = await run(['answers', '--check', shadow]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('registry.passwordFile /etc/shadow can be read by others than its owner');
    const writable = file('writable.yaml', 'target: overlay2\n');
    chmodSync(writable, 0o664);
    const open = await run(['answers', '--check', writable]);
    expect(open.code).toBe(2);
    expect(open.err).toContain(`The answers file ${writable} cannot be trusted: ${writable} can be written by its group (mode 0664)`);
    expect(open.err).toContain(`chmod go-w ${writable}`);
  });

  it('--check: exit 0 for a file a run can use, with the resolved answers in --json', async () => {
    const path = file('ok.yaml', 'target: direct-lvm\ndirectLvm:\n  device: /dev/sdb\n');
    const text = await run(['answers', '--check', path]);
    expect(text).toEqual({ code: 0, out: `${path}: valid; a run can use it unattended (target direct-lvm).\n`, err: '' });
    const json = await run(['--state-dir', '/srv/state', 'answers', '--check', path, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as { valid: boolean; answers: { backup: { directory: string } } };
    expect(report.valid).toBe(true);
    expect(report.answers.backup.directory).toBe('/srv/state');
  });

  it('--check: exit 2 naming every problem with its line, and missing answers', async () => {
    const bad = await run(['answers', '--check', file('bad.yaml', 'target: overlay2\nimages:\n  push: yes\nregisty: {}\n')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.yaml line 3: images.push must be true or false (found "yes")');
    expect(bad.err).toContain('bad.yaml line 4: unknown key "registy" (did you mean "registry"?)');
    expect(bad.err).not.toMatch(/^\s+at /m);

    const missing = await run(['answers', '--check', file('missing.yaml', 'images:\n  push: true\n')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('missing.yaml');
    expect(missing.err).toContain('target: must be overlay2 or direct-lvm');
    expect(missing.err).toContain('registry.address (needed because images.push is true)');
  });

  it('--check: exit 2 for a file that is missing, a directory, too big, or not UTF-8', async () => {
    const cases: [string, string][] = [
      [join(dir, 'nope.yaml'), 'does not exist'],
      [dir, 'is not a regular file'],
      [file('big.yaml', `target: overlay2\n#${'x'.repeat(70 * 1024)}\n`), 'is too big (71699 bytes; an answers file is at most 64 KiB)'],
      [file('latin1.yaml', Buffer.from('target: overlay2 # caf\xe9\n', 'latin1')), 'is not UTF-8 text'],
      [file('elf.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00])), 'holds a control character (U+007F)'],
    ];
    for (const [path, words] of cases) {
      const { code, err } = await run(['answers', '--check', path]);
      expect(code, path).toBe(2);
      expect(err, path).toContain(words);
      expect(err, path).not.toContain('internal error');
    }
  });
});
