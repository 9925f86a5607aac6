/**
 * The wizard asks through a Prompter: inquirer's prompts on a terminal, a scripted one in
 * tests. Keeping the wizard's logic off inquirer lets unit tests run the whole question flow
 * without a terminal, while a pseudo-terminal test covers the real prompts.
 */
import checkbox from '@inquirer/checkbox';
import confirm from '@inquirer/confirm';
import input from '@inquirer/input';
import password from '@inquirer/password';
import select from '@inquirer/select';
import { ExitCode, OperatorError } from '../errors.js';

export interface SelectChoice<T> {
  name: string;
  value: T;
  description?: string;
  /** A string says why it cannot be chosen (shown next to it). */
  disabled?: boolean | string;
}

export interface CheckboxChoice<T> {
  name: string;
  value: T;
  checked?: boolean;
  disabled?: boolean | string;
}

export interface SelectQuestion<T> {
  message: string;
  choices: SelectChoice<T>[];
  default?: T;
}

export interface CheckboxQuestion<T> {
  message: string;
  choices: CheckboxChoice<T>[];
}

export interface InputQuestion {
  message: string;
  default?: string;
  /** true when the value is fine, else what is wrong with it (shown, and asked again). */
  validate?: (value: string) => true | string;
}

export interface NumberQuestion {
  message: string;
  default?: number;
  min?: number;
  max?: number;
  validate?: (value: number) => true | string;
}

export interface PasswordQuestion {
  message: string;
  validate?: (value: string) => true | string;
}

export interface ConfirmQuestion {
  message: string;
  default?: boolean;
}

/** What the wizard needs from a terminal: one method per kind of question. */
export interface Prompter {
  select<T>(q: SelectQuestion<T>): Promise<T>;
  checkbox<T>(q: CheckboxQuestion<T>): Promise<T[]>;
  input(q: InputQuestion): Promise<string>;
  /** Whole numbers only. */
  number(q: NumberQuestion): Promise<number>;
  /** Typed masked; the answer is a secret. */
  password(q: PasswordQuestion): Promise<string>;
  confirm(q: ConfirmQuestion): Promise<boolean>;
}

/** Ctrl+C in a prompt: exit 130, and nothing has changed yet. */
function interrupted(error: unknown): never {
  // @inquirer/core 6 (the last major for Node 16) rejects with a plain Error on Ctrl+C.
  if (error instanceof Error && (error.name === 'ExitPromptError' || error.message.startsWith('User force closed the prompt'))) {
    throw new OperatorError(
      'the wizard was interrupted; nothing was changed',
      'Run "devmapper-migrate run" again to start over, or give the answers with --answers FILE.',
      ExitCode.interrupted,
    );
  }
  throw error;
}

async function asked<T>(prompt: Promise<T>): Promise<T> {
  try {
    return await prompt;
  } catch (error) {
    return interrupted(error);
  }
}

/** true, or what is wrong with a typed number: not a whole number, out of range, or refused by the question's validate. */
export function checkNumber(q: NumberQuestion, text: string): true | string {
  const value = /^\s*-?\d+\s*$/.test(text) ? Number(text) : undefined;
  if (value === undefined || !Number.isSafeInteger(value)) return 'Enter a whole number';
  if (q.validate) return q.validate(value);
  if ((q.min !== undefined && value < q.min) || (q.max !== undefined && value > q.max)) return `Must be from ${q.min ?? '…'} to ${q.max ?? '…'}`;
  return true;
}

/** The real prompts, on the process's terminal (inquirer's prompt packages for Node 16). */
export function inquirerPrompter(): Prompter {
  return {
    select: (q) => asked(select({ message: q.message, choices: q.choices, default: q.default, pageSize: 12, loop: false })),
    checkbox: (q) => asked(checkbox({ message: q.message, choices: q.choices, pageSize: 15, loop: false })),
    input: (q) => asked(input({ message: q.message, default: q.default, validate: q.validate })),
    number: async (q) => {
      // The number prompt came after the last inquirer major for Node 16: an input that takes whole numbers only.
      const text = await asked(input({ message: q.message, default: q.default?.toString(), validate: (value) => checkNumber(q, value) }));
      return Number(text.trim());
    },
    password: (q) => asked(password({ message: q.message, mask: '*', validate: q.validate })),
    confirm: (q) => asked(confirm({ message: q.message, default: q.default })),
  };
}

/** A scripted answer that does what Enter does on an untouched prompt: take the default. */
export const PRESS_ENTER: unique symbol = Symbol('press enter');

/** One question a scripted prompter was asked. */
export interface AskedQuestion {
  kind: keyof Prompter;
  message: string;
  default?: unknown;
  /** Choices of select and checkbox, with their disabled reasons and preselection. */
  choices?: { name: string; value: unknown; disabled?: boolean | string; checked?: boolean }[];
  /** Validation messages of the answers it refused (as a terminal would show them). */
  refused: string[];
}

export interface ScriptedPrompter extends Prompter {
  /** Every question asked so far, in order. */
  readonly asked: AskedQuestion[];
  /** Answers not used yet. */
  readonly remaining: number;
}

/**
 * A Prompter for tests: answers from the queue in order, as a person at the terminal could
 * give them. A choice that is not offered or is disabled throws (a person cannot pick it); an
 * answer that fails validation is recorded as refused and the next one is taken (a person
 * types again). PRESS_ENTER takes the default. Running out of answers throws.
 */
export function scriptedPrompter(answers: unknown[]): ScriptedPrompter {
  const queue = [...answers];
  const asked: AskedQuestion[] = [];
  const next = (question: AskedQuestion): unknown => {
    if (queue.length === 0) throw new Error(`scripted prompter ran out of answers at "${question.message}"`);
    return queue.shift();
  };
  const record = (question: Omit<AskedQuestion, 'refused'>): AskedQuestion => {
    const entry = { ...question, refused: [] };
    asked.push(entry);
    return entry;
  };
  const typed = <T>(entry: AskedQuestion, fallback: T | undefined, check: (v: unknown) => v is T, validate?: (v: T) => true | string): T => {
    for (;;) {
      const raw = next(entry);
      const value = raw === PRESS_ENTER ? fallback : raw;
      if (!check(value)) throw new Error(`scripted answer ${String(raw)} to "${entry.message}" has the wrong type`);
      const verdict = validate ? validate(value) : true;
      if (verdict === true) return value;
      entry.refused.push(verdict);
    }
  };
  const isString = (v: unknown): v is string => typeof v === 'string';
  const prompter: ScriptedPrompter = {
    asked,
    get remaining() {
      return queue.length;
    },
    async select<T>(q: SelectQuestion<T>): Promise<T> {
      const entry = record({ kind: 'select', message: q.message, default: q.default, choices: q.choices });
      const raw = next(entry);
      const enabled = q.choices.filter((c) => !c.disabled);
      const value = raw === PRESS_ENTER ? (q.default !== undefined && enabled.some((c) => c.value === q.default) ? q.default : enabled[0]?.value) : raw;
      const choice = q.choices.find((c) => c.value === value);
      if (!choice) throw new Error(`"${String(value)}" is not offered by "${q.message}"`);
      if (choice.disabled) throw new Error(`"${String(value)}" is disabled in "${q.message}": ${String(choice.disabled)}`);
      return choice.value;
    },
    async checkbox<T>(q: CheckboxQuestion<T>): Promise<T[]> {
      const entry = record({ kind: 'checkbox', message: q.message, choices: q.choices });
      const raw = next(entry);
      const values = raw === PRESS_ENTER ? q.choices.filter((c) => c.checked && !c.disabled).map((c) => c.value) : raw;
      if (!Array.isArray(values)) throw new Error(`scripted answer to "${q.message}" must be a list`);
      return values.map((value) => {
        const choice = q.choices.find((c) => c.value === value);
        if (!choice) throw new Error(`"${String(value)}" is not offered by "${q.message}"`);
        if (choice.disabled) throw new Error(`"${String(value)}" is disabled in "${q.message}"`);
        return choice.value;
      });
    },
    async input(q) {
      const entry = record({ kind: 'input', message: q.message, default: q.default });
      return typed(entry, q.default ?? '', isString, q.validate);
    },
    async number(q) {
      const entry = record({ kind: 'number', message: q.message, default: q.default });
      const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
      return typed(entry, q.default, isInteger, (v) => {
        if ((q.min !== undefined && v < q.min) || (q.max !== undefined && v > q.max)) return `must be from ${q.min} to ${q.max}`;
        return q.validate ? q.validate(v) : true;
      });
    },
    async password(q) {
      const entry = record({ kind: 'password', message: q.message });
      return typed(entry, '', isString, q.validate);
    },
    async confirm(q) {
      const entry = record({ kind: 'confirm', message: q.message, default: q.default });
      // inquirer's confirm defaults to yes unless told otherwise.
      return typed(entry, q.default !== false, (v): v is boolean => typeof v === 'boolean');
    },
  };
  return prompter;
}
