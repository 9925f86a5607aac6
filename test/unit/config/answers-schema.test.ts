import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answersJsonSchema } from '../../../src/config/answers-schema.js';
import { missingAnswers, parseAnswersFile } from '../../../src/config/answers.js';
import { COMMITTED_SCHEMA as committed, fixture, schemaValidator } from './answers-helpers.js';

describe('schema/answers.schema.json', () => {
  it('is what the generator makes from the declarations now', () => {
    expect(readFileSync(committed, 'utf8')).toBe(`${JSON.stringify(answersJsonSchema(), null, 2)}\n`);
  });

  it('is what scripts/gen-schema.mjs --check expects', () => {
    const repo = new URL('../../../', import.meta.url).pathname;
    expect(execFileSync('node', ['scripts/gen-schema.mjs', '--check'], { cwd: repo, encoding: 'utf8' })).toContain('up to date');
  });

  it('agrees with the parser on complete files: the fixtures and the contract example', () => {
    const valid = schemaValidator();
    for (const name of ['contract-example.yaml', 'direct-lvm.yaml', 'push.json']) {
      const text = fixture(name);
      const answers = parseAnswersFile(text, name);
      expect(missingAnswers(answers), name).toEqual([]);
      expect(valid(text), name).toBe(true);
    }
    expect(valid(fixture('invalid-many.yaml'))).toBe(false);
  });

  it('requires what the parser says is missing, and refuses what it refuses', () => {
    const valid = schemaValidator();
    const cases: [string, boolean][] = [
      ['images: {}', false], // no target
      ['target: direct-lvm', false], // no device
      ['target: direct-lvm\ndirectLvm:\n  device: /dev/sdb', true],
      ['target: direct-lvm\ndirectLvm:\n  device: ""', false],
      ['target: overlay2\nimages: {push: true}', false],
      ['target: overlay2\nimages: {push: true}\nregistry: {address: "r:5000"}', true],
      ['target: overlay2\nservice: {manager: command, stop: "s"}', false],
      ['target: overlay2\nservice: {manager: command, stop: "s", start: "t"}', true],
      ['target: overlay2\nservice: {stop: ""}', true],
      ['target: overlay2\nimages: {exclude: ~}\nbackup:', true],
      ['target: overlay2\nregistry: {password: x}', false],
      ['target: overlay2\nimages: {include: ["a b"]}', false],
      ['target: overlay2\nregistry: {repositoryPrefix: ""}', true],
    ];
    for (const [text, expected] of cases) {
      expect(valid(text), text).toBe(expected);
      let parsed = false;
      try {
        parsed = missingAnswers(parseAnswersFile(text, 'a.yaml')).length === 0;
      } catch {
        parsed = false;
      }
      expect(parsed, text).toBe(expected);
    }
  });
});
