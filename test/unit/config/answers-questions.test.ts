import { describe, expect, it } from 'vitest';
import type { Answers } from '../../../src/config/answers.js';
import {
  checkValue,
  FILE_QUESTIONS,
  getAnswer,
  isApplicable,
  QUESTIONS,
  SECTIONS,
  setAnswer,
  type Question,
} from '../../../src/config/questions.js';

type DeepRequired<T> = { [K in keyof T]-?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepRequired<T[K]> : T[K] };

/** Every key of the Answers type: the compiler keeps this in step with answers-types.ts. */
const EVERY_KEY: DeepRequired<Answers> = {
  target: 'overlay2',
  directLvm: {
    device: '/dev/sdb',
    wipeSignatures: false,
    thinpoolPercent: 95,
    metadataPercent: 1,
    autoextendThreshold: 80,
    autoextendPercent: 20,
  },
  images: { include: ['*'], exclude: [], save: true, push: false },
  registry: {
    address: 'r:5000',
    repositoryPrefix: 'migrated/',
    username: 'deploy',
    passwordEnv: 'P',
    passwordFile: '/p',
    insecure: false,
  },
  containers: { include: ['*'], exclude: [], keepWritableLayer: true },
  volumes: { include: ['*'], exclude: [], archive: true },
  staging: 'auto',
  backup: { directory: '/b', dataRoot: 'move' },
  service: { manager: 'auto', stop: 's', start: 's', timeoutSeconds: 300 },
  source: { dockerd: '/root/dockerd-20.10' },
  rollbackOnFailure: true,
  ignoreBlockers: [],
};

function leafKeys(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? leafKeys(v, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

describe('the question declarations', () => {
  it('declare every key of the Answers type, once, and no other file key', () => {
    const declared = FILE_QUESTIONS.map((q) => q.key);
    expect(new Set(declared).size).toBe(declared.length);
    expect([...declared].sort()).toEqual(leafKeys(EVERY_KEY).sort());
    for (const key of declared) expect(checkValue(FILE_QUESTIONS.find((q) => q.key === key)!, getAnswer(EVERY_KEY, key)), key).toBeUndefined();
  });

  it('have defaults and examples that they allow themselves, and conditions on declared keys', () => {
    const keys = new Set(QUESTIONS.map((q) => q.key));
    for (const question of QUESTIONS) {
      const fine = (value: unknown) => expect(checkValue(question, value), `${question.key}: ${String(value)}`).toBeUndefined();
      if ('default' in question && question.default !== undefined) fine(question.default);
      if (question.example) fine(question.example);
      for (const condition of question.when ?? []) expect(keys.has(condition.key), condition.key).toBe(true);
      // A key with a default never needs answering; a required one has none.
      expect(question.required && 'default' in question && question.default !== undefined, question.key).toBeFalsy();
    }
    for (const section of SECTIONS) expect(FILE_QUESTIONS.some((q) => q.key.startsWith(`${section.key}.`))).toBe(true);
  });

  it('only target is required whatever the other answers', () => {
    expect(QUESTIONS.filter((q) => q.required && !q.when).map((q) => q.key)).toEqual(['target']);
  });

  it('apply by the other answers (defaults included)', () => {
    const q = (key: string) => QUESTIONS.find((x) => x.key === key) as Question;
    expect(isApplicable(q('directLvm.device'), { target: 'overlay2' })).toBe(false);
    expect(isApplicable(q('directLvm.device'), { target: 'direct-lvm' })).toBe(true);
    expect(isApplicable(q('registry.address'), {})).toBe(false);
    expect(isApplicable(q('registry.address'), { images: { push: true } })).toBe(true);
    expect(isApplicable(q('registry.password'), { images: { push: true }, registry: { username: 'u' } })).toBe(true);
    expect(isApplicable(q('registry.password'), { images: { push: true }, registry: { username: 'u', passwordEnv: 'P' } })).toBe(false);
    expect(isApplicable(q('service.stop'), { service: { manager: 'command' } })).toBe(true);
  });

  it('setAnswer builds the nesting and refuses secrets', () => {
    const answers: Answers = {};
    setAnswer(answers, 'directLvm.thinpoolPercent', 90);
    setAnswer(answers, 'target', 'direct-lvm');
    expect(answers).toEqual({ directLvm: { thinpoolPercent: 90 }, target: 'direct-lvm' });
    expect(() => setAnswer(answers, 'registry.password', 'x')).toThrow(/secret/);
  });
});
