import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { parseDocument } from 'yaml';
import { AnswersFileError, parseAnswersFile } from '../../../src/config/answers.js';
import { UsageError } from '../../../src/errors.js';

export const FIXTURES = new URL('../../fixtures/answers/', import.meta.url);
export const COMMITTED_SCHEMA = new URL('../../../schema/answers.schema.json', import.meta.url);

/** A fixture's text. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** Parses text that must be refused; returns the error (checked to be an exit-2 AnswersFileError). */
export function refused(text: string, fileName = 'answers.yaml'): AnswersFileError {
  let caught: unknown;
  try {
    parseAnswersFile(text, fileName);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${JSON.stringify(text.slice(0, 200))} to be refused`).toBeInstanceOf(AnswersFileError);
  const error = caught as AnswersFileError;
  expect(error).toBeInstanceOf(UsageError);
  expect(error.exitCode).toBe(2);
  return error;
}

/** The problem lines of a refusal, each "answers.yaml line N: …". */
export function problemLines(text: string, fileName = 'answers.yaml'): string[] {
  const error = refused(text, fileName);
  return error.problems.map((p) => `${fileName}${p.line ? ` line ${p.line}` : ''}: ${p.message}`);
}

/**
 * What every refusal must look like to an operator: each line names the file (and a line
 * number where there is one), nothing looks like a stack or an unprinted object, and it is short.
 */
export function expectClearMessage(message: string, fileName = 'answers.yaml'): void {
  const lines = message.split('\n');
  const escaped = fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const problem = new RegExp(`^(  )?${escaped}( line \\d+)?: \\S`);
  if (lines.length === 1) {
    expect(lines[0]).toMatch(problem);
  } else {
    expect(lines[0]).toMatch(new RegExp(`^${escaped} has \\d+ problems:$`));
    for (const line of lines.slice(1)) expect(line).toMatch(new RegExp(`${problem.source}|^  …and \\d+ more$`));
  }
  expect(message).not.toMatch(/undefined|\[object |NaN line|^\s+at /m);
  expect(message.length).toBeLessThan(12_000);
}

/** ajv over the committed schema: what an editor would say about a file. */
export function schemaValidator(): (text: string) => boolean | undefined {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(JSON.parse(readFileSync(COMMITTED_SCHEMA, 'utf8')) as object);
  return (text: string) => {
    const doc = parseDocument(text, { uniqueKeys: false });
    if (doc.errors.length > 0) return undefined;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch {
      return undefined;
    }
    return validate(data);
  };
}
