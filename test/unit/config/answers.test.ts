import { describe, expect, it } from 'vitest';
import {
  AnswersFileError,
  MAX_ANSWERS_FILE_BYTES,
  missingAnswers,
  MissingAnswersError,
  parseAnswersFile,
  resolveAnswers,
  type Answers,
  type ResolvedAnswers,
} from '../../../src/config/answers.js';
import { allowedText, FILE_QUESTIONS, type Question } from '../../../src/config/questions.js';
import { UsageError } from '../../../src/errors.js';
import { expectClearMessage, fixture, problemLines, refused } from './answers-helpers.js';

/** Every default of the contract, for target overlay2 and --state-dir /var/lib/devmapper-migrate. */
const DEFAULTS: ResolvedAnswers = {
  target: 'overlay2',
  images: { include: ['*'], exclude: [], save: true, push: false },
  containers: { include: ['*'], exclude: [], keepWritableLayer: true },
  volumes: { include: ['*'], exclude: [], archive: true },
  staging: 'auto',
  backup: { directory: '/var/lib/devmapper-migrate', dataRoot: 'move' },
  service: { manager: 'auto', stop: '', start: '', timeoutSeconds: 300 },
  rollbackOnFailure: true,
  ignoreBlockers: [],
};

describe('parseAnswersFile: files that are fine', () => {
  it('reads the contract example (YAML with comments), and resolves it', () => {
    const answers = parseAnswersFile(fixture('contract-example.yaml'), 'contract-example.yaml');
    expect(answers.target).toBe('overlay2');
    expect(answers.registry).toEqual({
      address: 'registry.example.com:5000',
      repositoryPrefix: 'migrated/',
      username: 'deploy',
      passwordEnv: 'REGISTRY_PASSWORD',
      passwordFile: '/root/.registry-pass',
      insecure: false,
    });
    // overlay2 and no push: the direct-lvm and registry answers are not used.
    expect(resolveAnswers(answers)).toEqual(DEFAULTS);
  });

  it('follows anchors and aliases, keeps explicit values, and resolves a direct-lvm file', () => {
    const answers = parseAnswersFile(fixture('direct-lvm.yaml'), 'direct-lvm.yaml');
    expect(answers.containers?.exclude).toEqual(['scratch-*', '*:build-cache']);
    expect(resolveAnswers(answers, { stateDir: '/tmp/state' })).toEqual({
      ...DEFAULTS,
      target: 'direct-lvm',
      directLvm: {
        device: '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive1',
        wipeSignatures: true,
        thinpoolPercent: 90,
        metadataPercent: 2,
        autoextendThreshold: 80,
        autoextendPercent: 20,
      },
      images: { include: ['*'], exclude: ['scratch-*', '*:build-cache'], save: true, push: false },
      containers: { include: ['*'], exclude: ['scratch-*', '*:build-cache'], keepWritableLayer: true },
      volumes: { include: ['*'], exclude: ['scratch-*'], archive: false },
      backup: { directory: '/srv/docker-backup', dataRoot: 'move+archive' },
      service: { manager: 'command', stop: '/usr/local/sbin/docker-ctl stop', start: '/usr/local/sbin/docker-ctl start', timeoutSeconds: 600 },
      ignoreBlockers: ['rm-containers'],
    });
  });

  it('reads JSON, and keeps an explicit empty repositoryPrefix', () => {
    const resolved = resolveAnswers(parseAnswersFile(fixture('push.json'), 'push.json'));
    expect(resolved.registry).toEqual({
      address: '127.0.0.1:5000',
      repositoryPrefix: '',
      username: 'deploy',
      passwordEnv: 'REGISTRY_PASSWORD',
      insecure: true,
    });
    expect(resolved.images).toEqual({ include: ['app/*', 'base:*'], exclude: [], save: false, push: true });
    expect(resolved.rollbackOnFailure).toBe(false);
  });

  it('reads source.dockerd (rescue mode) as an absolute path, and leaves source out without it', () => {
    const resolved = resolveAnswers(parseAnswersFile('target: overlay2\nsource:\n  dockerd: /root/dockerd-20.10\n', 'a.yaml'));
    expect(resolved.source).toEqual({ dockerd: '/root/dockerd-20.10' });
    expect(resolveAnswers(parseAnswersFile('target: overlay2\nsource:\n  dockerd:\n', 'a.yaml')).source).toBeUndefined();
    expect(() => parseAnswersFile('target: overlay2\nsource:\n  dockerd: dockerd-20.10\n', 'a.yaml')).toThrow(/source\.dockerd[\s\S]*absolute path/);
  });

  it('takes a key left empty (null) as not answered', () => {
    const answers = parseAnswersFile('target: overlay2\nimages:\n  exclude:\n  push: ~\ndirectLvm:\n', 'a.yaml');
    expect(answers).toEqual({ target: 'overlay2', images: {} });
  });

  it('accepts a byte order mark and CRLF line ends, and still counts lines right', () => {
    expect(parseAnswersFile('\uFEFFtarget: overlay2\r\nimages:\r\n  push: false\r\n', 'a.yaml')).toEqual({
      target: 'overlay2',
      images: { push: false },
    });
    expect(problemLines('\uFEFFtarget: overlay2\r\nimages:\r\n  push: no\r\n')).toEqual([
      'answers.yaml line 3: images.push must be true or false (found "no")',
    ]);
  });
});

describe('parseAnswersFile: every error names the key, the file, the line, what was found and what is allowed', () => {
  it('says it the way the brief says it', () => {
    const file = ['target: overlay2', 'directLvm:', '  thinpoolPercent: 150', '', '# images', 'images:', '  push: yes', ''];
    expect(problemLines(file.join('\n'))).toEqual([
      'answers.yaml line 3: directLvm.thinpoolPercent must be a whole number from 1 to 100 (found 150)',
      'answers.yaml line 7: images.push must be true or false (found "yes")',
    ]);
    const typo = [...Array(11).fill('# ...'), 'registy:', '  address: r:5000', 'target: overlay2'].join('\n');
    expect(problemLines(typo)).toEqual(['answers.yaml line 12: unknown key "registy" (did you mean "registry"?)']);
  });

  // For every key of the file: a value of the wrong type, and one outside what it allows.
  const wrongValues = (q: Question): string[] => {
    switch (q.kind) {
      case 'choice':
        return ['nope', '5', '[a]'];
      case 'boolean':
        return ['"true"', 'maybe', '1'];
      case 'integer':
        return [String(q.min - 1), String(q.max + 1), '2.5', '"10"', '.inf'];
      case 'string':
        return ['{a: 1}', '[x]', ...(q.pattern ? ['"has space  and https://x"'] : ['12'])];
      case 'list':
        return ['"*"', '{a: 1}', '[""]', '["ok", 5]'];
    }
  };
  for (const question of FILE_QUESTIONS) {
    it(`refuses bad values of ${question.key}`, () => {
      const [section, name] = question.key.includes('.') ? question.key.split('.') : [undefined, question.key];
      for (const value of wrongValues(question)) {
        // The key's line is 4 either way: after two comment lines (and its section's line).
        const lines = ['target: overlay2', '# a comment', ...(section ? [`${section}:`, `  ${name}: ${value}`] : ['', `${name}: ${value}`])];
        if (question.key === 'target') lines.shift();
        const error = refused(lines.join('\n'));
        expectClearMessage(error.message);
        expect(error.problems).toHaveLength(1);
        const problem = error.problems[0]!;
        expect(problem.line).toBe(question.key === 'target' ? 3 : 4);
        expect(problem.message).toMatch(new RegExp(`^${question.key.replace('.', '\\.')}(\\[\\d+\\])? must be `));
        if (question.kind !== 'list' && question.kind !== 'string') {
          expect(problem.message).toContain(`must be ${allowedText(question)} (found `);
        }
        if (question.quiet) expect(problem.message).not.toContain('https://x');
      }
    });
  }

  it('names the item of a list, on its own line', () => {
    expect(problemLines('target: overlay2\nimages:\n  include:\n    - app/*\n    - "with space"\n')).toEqual([
      'answers.yaml line 5: images.include[1] must be a glob over repo:tag without spaces, like app/* or *:latest (found "with space")',
    ]);
  });

  it('suggests the choice that was meant', () => {
    expect(problemLines('target: overlay\n')).toEqual([
      'answers.yaml line 1: target must be overlay2 or direct-lvm (found "overlay"; did you mean "overlay2"?)',
    ]);
    expect(problemLines('target: overlay2\nbackup:\n  dataRoot: Archive\n')).toEqual([
      'answers.yaml line 3: backup.dataRoot must be one of move, archive, move+archive (found "Archive"; did you mean "archive"?)',
    ]);
  });

  it('says what a registry address must look like', () => {
    expect(problemLines('target: overlay2\nregistry:\n  address: https://registry.example.com\n')).toEqual([
      'answers.yaml line 3: registry.address must be a registry host name or address with an optional port and no scheme, like registry.example.com:5000 (found "https://registry.example.com")',
    ]);
  });

  it('refuses unknown keys with the key meant, or the keys allowed there', () => {
    expect(problemLines('target: overlay2\nimages:\n  pussh: true\n')).toEqual([
      'answers.yaml line 3: unknown key "images.pussh" (did you mean "images.push"?)',
    ]);
    expect(problemLines('target: overlay2\ndevice: /dev/sdb\n')).toEqual([
      'answers.yaml line 2: unknown key "device" (did you mean "directLvm.device"?)',
    ]);
    expect(problemLines('target: overlay2\nTarget: overlay2\n')).toEqual([
      'answers.yaml line 2: unknown key "Target" (did you mean "target"?)',
    ]);
    expect(problemLines('target: overlay2\nvolumes:\n  compress: true\n')).toEqual([
      'answers.yaml line 3: unknown key "volumes.compress" (volumes has: include, exclude, archive)',
    ]);
    const [top] = problemLines('target: overlay2\nfrobnicate: 1\n');
    expect(top).toMatch(/^answers\.yaml line 2: unknown key "frobnicate" \(the keys are: target, directLvm, images, .*ignoreBlockers\)$/);
  });

  it('refuses a password written in the file, points to passwordEnv/passwordFile, and never repeats it', () => {
    const error = refused('target: overlay2\nregistry:\n  address: r:5000\n  password: hunter2-canary\n');
    expect(error.problems).toEqual([
      {
        line: 4,
        message:
          'unknown key "registry.password": secrets are never written in the answers file; set registry.passwordEnv ' +
          'to the name of an environment variable that holds it, or registry.passwordFile to a file that holds it',
      },
    ]);
    expect(error.message + error.remedy).not.toContain('hunter2');
    // A password pasted into passwordEnv or passwordFile is not repeated either.
    const pasted = refused('target: overlay2\nregistry:\n  passwordEnv: "hunter2 canary!"\n  passwordFile: "hunter2-canary"\n');
    expect(pasted.message).not.toContain('hunter2');
    expect(pasted.problems.map((p) => p.message)).toEqual([
      'registry.passwordEnv must be the name of an environment variable, like REGISTRY_PASSWORD (never the password itself) (found a string of 15 characters)',
      'registry.passwordFile must be an absolute path, like /root/.registry-pass (never the password itself) (found a string of 14 characters)',
    ]);
  });

  it('names both lines of a duplicate key', () => {
    expect(problemLines('target: overlay2\nimages:\n  push: false\n  save: true\n  push: true\n')).toEqual([
      'answers.yaml line 5: images.push is given twice (lines 3 and 5): give it once',
    ]);
    expect(problemLines('{"target": "overlay2",\n "target": "direct-lvm"}', 'answers.json')).toEqual([
      'answers.json line 2: target is given twice (lines 1 and 2): give it once',
    ]);
  });

  it('collects every problem of a file, not just the first', () => {
    const error = refused(fixture('invalid-many.yaml'), 'invalid-many.yaml');
    expectClearMessage(error.message, 'invalid-many.yaml');
    expect(error.message.split('\n')).toEqual([
      'invalid-many.yaml has 6 problems:',
      '  invalid-many.yaml line 1: target must be overlay2 or direct-lvm (found "overlay"; did you mean "overlay2"?)',
      '  invalid-many.yaml line 3: directLvm.thinpoolPercent must be a whole number from 1 to 100 (found 101)',
      '  invalid-many.yaml line 5: images.push must be true or false (found "yes")',
      '  invalid-many.yaml line 6: unknown key "registy" (did you mean "registry"?)',
      '  invalid-many.yaml line 10: service.timeoutSeconds must be a whole number from 1 to 86400 (found "300")',
      '  invalid-many.yaml line 11: service.timeoutSeconds is given twice (lines 10 and 11): give it once',
    ]);
    expect(error.remedy).toContain('answers --template');
  });

  it('refuses a thin pool and its metadata that add up to more than the volume group', () => {
    expect(problemLines('target: direct-lvm\ndirectLvm:\n  device: /dev/sdb\n  metadataPercent: 10\n')).toEqual([
      'answers.yaml line 4: directLvm.thinpoolPercent (95) and directLvm.metadataPercent (10) add up to 105: together they must be at most 100 (percent of one volume group)',
    ]);
  });

  it('refuses a section that is not a mapping, and a file that is not a mapping', () => {
    expect(problemLines('target: overlay2\nimages: [app]\n')).toEqual([
      'answers.yaml line 2: images must be a mapping with the keys include, exclude, save, push (found a list)',
    ]);
    expect(problemLines('- target: overlay2\n')).toEqual([
      'answers.yaml line 1: the answers file must be a mapping of keys to values, like "target: overlay2" (found a list)',
    ]);
    // A scalar file (a password file given by mistake?) is described, never repeated.
    const [scalar] = problemLines('s3cr3t-canary\n');
    expect(scalar).toBe(
      'answers.yaml line 1: the answers file must be a mapping of keys to values, like "target: overlay2" (found a string of 13 characters)',
    );
  });

  it('refuses keys that are not names, and shows odd ones on one line', () => {
    expect(problemLines('target: overlay2\n? [a, b]\n: 1\n')).toEqual([
      'answers.yaml line 2: a key must be a plain name (found a list)',
    ]);
    expect(problemLines('target: overlay2\n"two\\nlines": 1\n"two\\nlines": 2\n')).toEqual([
      'answers.yaml line 2: unknown key "two\\nlines" (the keys are: target, directLvm, images, registry, containers, volumes, staging, backup, service, source, rollbackOnFailure, ignoreBlockers)',
      'answers.yaml line 3: two\\nlines is given twice (lines 2 and 3): give it once',
    ]);
  });
});

describe('parseAnswersFile: hostile and broken input ends in a clear exit-2 error, quickly', () => {
  const quick = (text: string, fileName = 'answers.yaml'): string => {
    const started = performance.now();
    const error = refused(text, fileName);
    expect(performance.now() - started).toBeLessThan(5_000);
    expectClearMessage(error.message, fileName);
    return error.message;
  };

  it('an empty file, or one with only comments', () => {
    expect(quick('')).toBe('answers.yaml: is empty: an answers file is a mapping of keys to values, like "target: overlay2"');
    expect(quick('# nothing yet\n\n')).toContain('is empty');
    expect(quick('---\n')).toContain('is empty');
  });

  it('more than one document', () => {
    expect(quick('target: overlay2\n---\ntarget: direct-lvm\n')).toBe(
      'answers.yaml line 2: a second YAML document starts here: put every answer in one document',
    );
  });

  it('YAML syntax errors, with their line', () => {
    expect(quick('target: overlay2\nimages:\n  include: ["*"\n  push: true\n')).toMatch(/^answers\.yaml (line \d+: not valid YAML|has \d+ problems)/);
    expect(quick('target: overlay2\n  images: x\n')).toContain(
      'answers.yaml line 1: not valid YAML: Nested mappings are not allowed in compact mappings',
    );
    expect(quick('{"target": "overlay2",', 'a.json')).toMatch(/^a\.json line 1: not valid YAML: /);
  });

  it('binary junk and broken characters', () => {
    expect(quick('target: overlay2\nimages:\n  push: tr\u0000ue\n')).toBe(
      'answers.yaml line 3: holds a control character (U+0000): this is not a text answers file',
    );
    expect(quick('\u007fELF\u0002\u0001\u0001')).toContain('line 1: holds a control character (U+007F)');
    expect(quick('target: "\ud800"\n')).toContain('holds a broken character (U+D800)');
    // Legal but unusual Unicode is fine where a string is allowed.
    expect(parseAnswersFile('target: overlay2\nimages:\n  include: ["café-*", "😀"]\n', 'a.yaml').images?.include).toEqual([
      'café-*',
      '😀',
    ]);
  });

  it('a file that is too big', () => {
    const big = `target: overlay2\nimages:\n  include:\n${'    - app\n'.repeat(MAX_ANSWERS_FILE_BYTES / 10)}`;
    expect(quick(big)).toMatch(/^answers\.yaml: is too big \(\d+ characters; an answers file is at most 64 KiB\)$/);
  });

  it('nesting deep enough to exhaust the stack', () => {
    expect(quick(`target: overlay2\nimages: ${'['.repeat(60_000)}`)).toBe(
      'answers.yaml line 2: lists or mappings nested more than 32 levels deep: an answers file needs 3',
    );
    expect(quick(`${'{a: '.repeat(10_000)}${'}'.repeat(10_000)}`)).toContain('nested more than 32 levels deep');
    expect(quick(`${'- '.repeat(30_000)}x`)).toContain('nested more than 32 levels deep');
    expect(quick(Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'))).toContain('nested more than 32');
  });

  it('a billion laughs: aliases are followed only along declared keys, and counted', () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `target: overlay2\n${laughs.join('\n')}\nimages:\n  include: *i\n`;
    const message = quick(bomb);
    expect(message).toContain('answers.yaml line 2: unknown key "a"');
    // include is *i, whose items are the *h written on line 10: lists, never expanded further.
    expect(message).toContain(
      'answers.yaml line 10: images.include[0] must be a glob over repo:tag without spaces, like app/* or *:latest (found a list)',
    );
    // Many aliases of a harmless anchor are refused past the limit, once.
    const many = `target: overlay2\nimages:\n  include: [&x "a", ${Array(150).fill('*x').join(', ')}]\n`;
    expect(quick(many)).toBe('answers.yaml line 3: more than 100 aliases (*name): write the values out instead');
  });

  it('aliases with no anchor before them, or inside the node they name', () => {
    expect(quick('target: *nowhere\n')).toBe('answers.yaml line 1: target: alias *nowhere has no anchor &nowhere before it');
    expect(quick('target: overlay2\nimages:\n  include: &x [*x]\n')).toContain(
      'line 3: images.include[0]: alias *x has no anchor &x before it',
    );
  });

  it('YAML 1.1 merge keys and unknown tags', () => {
    expect(quick('%YAML 1.1\n---\ntarget: overlay2\nbase: &b {push: true}\nimages:\n  <<: *b\n')).toContain(
      'line 6: merge keys (<<) are not supported in answers files: write the keys out',
    );
    expect(quick('target: !driver overlay2\n')).toMatch(/^answers\.yaml line 1: not valid YAML: Unresolved tag: !driver/);
    expect(quick('target: overlay2\nimages:\n  push: !!binary dHJ1ZQ==\n')).toMatch(/line 3: /);
  });
});

describe('missingAnswers and resolveAnswers', () => {
  it('target is the one key without a default', () => {
    expect(missingAnswers({})).toEqual(['target']);
    expect(missingAnswers({ target: 'overlay2' })).toEqual([]);
    expect(resolveAnswers({ target: 'overlay2' })).toEqual(DEFAULTS);
  });

  it('asks for what the other answers make necessary', () => {
    expect(missingAnswers({ target: 'direct-lvm' })).toEqual(['directLvm.device']);
    expect(missingAnswers({ target: 'overlay2', images: { push: true } })).toEqual(['registry.address']);
    expect(missingAnswers({ target: 'overlay2', service: { manager: 'command', stop: '' } })).toEqual([
      'service.stop',
      'service.start',
    ]);
    const withUser: Answers = { target: 'overlay2', images: { push: true }, registry: { address: 'r:5000', username: 'deploy' } };
    expect(missingAnswers(withUser)).toEqual(['registry.password']);
    expect(missingAnswers(withUser, { 'registry.password': 'from the wizard' })).toEqual([]);
    expect(missingAnswers({ ...withUser, registry: { ...withUser.registry, passwordFile: '/root/p' } })).toEqual([]);
    // Answers that do not apply are not asked for.
    expect(missingAnswers({ target: 'overlay2', registry: { username: 'deploy' } })).toEqual([]);
  });

  it('stops naming every missing key, why it is needed and what it takes (exit 2)', () => {
    const run = () => resolveAnswers({ target: 'direct-lvm', images: { push: true } }, { source: 'answers.yaml' });
    expect(run).toThrow(MissingAnswersError);
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as MissingAnswersError).keys).toEqual(['directLvm.device', 'registry.address']);
      expect((error as Error).message).toBe(
        '2 required answers are missing from answers.yaml:\n' +
          '  directLvm.device (needed because target is direct-lvm): must be a block device path under /dev, like /dev/sdb\n' +
          '  registry.address (needed because images.push is true): must be a registry host name or address with an optional port and no scheme, like registry.example.com:5000',
      );
    }
    expect(() => resolveAnswers({})).toThrow('a required answer is missing from the answers: target: must be overlay2 or direct-lvm');
  });

  it('checks answers that did not come from a file (the wizard) the same way', () => {
    expect(() => resolveAnswers({ target: 'overlay2', images: { include: ['ok', ''] } })).toThrow(
      /^the answers: images\.include\[1\] must be a glob over repo:tag/,
    );
    expect(() => resolveAnswers({ target: 'overlay2', service: { timeoutSeconds: 0 } })).toThrow(AnswersFileError);
    expect(() =>
      resolveAnswers({ target: 'direct-lvm', directLvm: { device: '/dev/sdb', thinpoolPercent: 100 } }),
    ).toThrow(/add up to 101/);
  });

  it('refuses device blockers in ignoreBlockers: they cannot be overridden (issue 19, item 3)', () => {
    const answers = { target: 'direct-lvm', directLvm: { device: '/dev/sdb' }, ignoreBlockers: ['swarm-active', 'target-device-in-current-pool', 'target-device-mounted'] } as const;
    expect(() => resolveAnswers({ ...answers, ignoreBlockers: [...answers.ignoreBlockers] })).toThrow(
      /ignoreBlockers names "target-device-in-current-pool", "target-device-mounted": they cannot be overridden \(a disk would be wiped/,
    );
    // Run files inside the data-root are as final: they would be moved away with it.
    expect(() => resolveAnswers({ target: 'overlay2', ignoreBlockers: ['state-dir-inside-data-root'] })).toThrow(/"state-dir-inside-data-root": it cannot be overridden/);
    expect(resolveAnswers({ ...answers, ignoreBlockers: ['swarm-active'] }).ignoreBlockers).toEqual(['swarm-active']);
  });

  it('fills in the state dir as the backup directory, and drops answers that do not apply', () => {
    const resolved = resolveAnswers(
      { target: 'overlay2', directLvm: { device: '/dev/sdb' }, registry: { address: 'r:5000' }, service: { stop: 'x' } },
      { stateDir: '/srv/state' },
    );
    expect(resolved.backup.directory).toBe('/srv/state');
    expect(resolved.directLvm).toBeUndefined();
    expect(resolved.registry).toBeUndefined();
    expect(resolved.service.stop).toBe('');
    expect(Object.keys(resolved)).not.toContain('directLvm');
  });

  it('gives every run its own lists', () => {
    const first = resolveAnswers({ target: 'overlay2' });
    first.images.include.push('mutated');
    expect(resolveAnswers({ target: 'overlay2' }).images.include).toEqual(['*']);
  });
});
