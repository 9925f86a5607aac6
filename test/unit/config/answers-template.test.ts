import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { missingAnswers, parseAnswersFile, resolveAnswers } from '../../../src/config/answers.js';
import { answersTemplate } from '../../../src/config/answers-template.js';
import { FILE_QUESTIONS, QUESTIONS } from '../../../src/config/questions.js';

const template = answersTemplate();
const fill = (text: string, replacements: Record<string, string>) =>
  Object.entries(replacements).reduce((t, [line, by]) => {
    expect(t).toContain(`\n${line}\n`);
    return t.replace(`\n${line}\n`, `\n${by}\n`);
  }, text);

describe('answers --template', () => {
  it('parses as it is, and then only target is missing', () => {
    const answers = parseAnswersFile(template, 'template.yaml');
    expect(answers.target).toBeUndefined();
    expect(missingAnswers(answers)).toEqual(['target']);
  });

  it('resolves to the defaults once target is filled in', () => {
    const overlay = parseAnswersFile(fill(template, { 'target:': 'target: overlay2' }), 'a.yaml');
    expect(resolveAnswers(overlay, { stateDir: '/s' })).toEqual(resolveAnswers({ target: 'overlay2' }, { stateDir: '/s' }));

    const lvm = parseAnswersFile(fill(template, { 'target:': 'target: direct-lvm', '  device:': '  device: /dev/sdb' }), 'a.yaml');
    expect(resolveAnswers(lvm)).toEqual(resolveAnswers({ target: 'direct-lvm', directLvm: { device: '/dev/sdb' } }));

    const push = parseAnswersFile(
      fill(template, { 'target:': 'target: overlay2', '  push: false': '  push: true', '  address:': '  address: r:5000' }),
      'a.yaml',
    );
    expect(resolveAnswers(push)).toEqual(
      resolveAnswers({ target: 'overlay2', images: { push: true }, registry: { address: 'r:5000' } }),
    );
  });

  it('shows every key of the file, in its section, with its default and every choice', () => {
    const data = parse(template) as Record<string, unknown>;
    for (const question of FILE_QUESTIONS) {
      const [section, name] = question.key.includes('.') ? question.key.split('.') : [undefined, question.key];
      const holder = (section ? data[section] : data) as Record<string, unknown>;
      expect(holder, question.key).toHaveProperty([name!]);
      const shown = holder[name!];
      expect(shown, question.key).toEqual('default' in question && question.default !== undefined ? question.default : null);
      if (question.kind === 'choice') {
        for (const choice of question.choices) expect(template).toContain(`${choice.value}  `);
      }
    }
    // Secrets are never a key of the file.
    for (const question of QUESTIONS.filter((q) => q.secret)) {
      expect(template).not.toMatch(new RegExp(`^\\s*${question.key.split('.').pop()}:`, 'm'));
    }
  });

  it('keeps its lines within 100 columns', () => {
    for (const line of template.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});
