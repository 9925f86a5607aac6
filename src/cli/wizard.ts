/**
 * The wizard of `run`: asks, through a Prompter, every question of config/questions.ts that
 * applies and that the answers file (if any) left open, in declaration order. Messages,
 * choices, defaults and checks all come from the declarations, so an answer the wizard takes
 * is one resolveAnswers() takes.
 */
import { crossCheck, resolveAnswers, type Answers, type AnswerSecrets } from '../config/answers.js';
import {
  checkValue,
  getAnswer,
  isAnswered,
  isApplicable,
  QUESTIONS,
  questionFor,
  setAnswer,
  type BooleanQuestion,
  type ChoiceQuestion,
  type IntegerQuestion,
  type ListQuestion,
  type Question,
  type StringQuestion,
} from '../config/questions.js';
import type { BlockDeviceChoice } from '../facts/block-devices.js';
import { formatBytes } from '../report/format.js';
import { ExitCode, OperatorError } from '../errors.js';
import type { Prompter } from './prompter.js';
import { copyJson } from '../json-copy.js';

/** An item of a pick list: `value` is the name globs match (repo:tag, image ID, container or volume name). */
export interface PickItem {
  value: string;
  label: string;
}

/** What the wizard offers to pick from, gathered by the caller from the host. */
export interface WizardChoices {
  blockDevices: BlockDeviceChoice[];
  images: PickItem[];
  containers: PickItem[];
  volumes: PickItem[];
  /** The blockers preflight found, for ignoreBlockers. */
  blockers: { key: string; title: string }[];
  /** What the backups need against what is free where they go by default. */
  space?: { neededBytes: number; freeBytes?: number; directory: string };
  /**
   * Preflight's blockers for a target, asked right after the target question: the operator
   * learns of them before twenty more questions, not after.
   */
  blockersFor?: (target: string) => Promise<{ key: string; title: string }[]>;
  /** What the new pool must hold (images and writable layers): a smaller device is flagged in the list. */
  poolNeedsBytes?: number;
}

/**
 * The operator chose to stop at the blockers found right after the target question. Carries
 * the answers given so far, so the caller can keep them.
 */
export class WizardStopped extends OperatorError {
  constructor(
    readonly answers: Answers,
    blockers: readonly { key: string; title: string }[],
  ) {
    super(
      `Preflight found ${blockers.length} blocker(s) for this target: ${blockers.map((b) => `${b.key} (${b.title})`).join('; ')}. Nothing was changed.`,
      'Fix them (`devmapper-migrate preflight` says how), then run again.',
      ExitCode.findings,
    );
    this.name = 'WizardStopped';
  }
}

export interface WizardResult {
  answers: Answers;
  /** Secret answers (the registry password): never saved, logged or shown. */
  secrets: AnswerSecrets;
}

/** The select value that asks for a device path by hand. */
const OTHER_DEVICE = '\u0000other';

type Selectable = 'images' | 'containers' | 'volumes';

/**
 * Asks every applicable question that `given` (an answers file's content, or {}) does not
 * answer, and returns the answers (given ones kept) and the secrets apart.
 */
export async function askAnswers(given: Answers, choices: WizardChoices, prompter: Prompter): Promise<WizardResult> {
  const answers = copyJson(given);
  const secrets: AnswerSecrets = {};
  const done = new Set<string>();
  for (const question of QUESTIONS) {
    if (done.has(question.key) || question.askedApart || question.wizard === false || !isApplicable(question, answers)) continue;
    if (isGiven(question, answers, secrets)) continue;
    if (question.secret) {
      secrets[question.key as keyof AnswerSecrets] = await askSecret(question as StringQuestion, prompter);
      continue;
    }
    const selectable = selectionOf(question);
    if (selectable && question.key.endsWith('.include') && getAnswer(answers, `${selectable}.exclude`) === undefined) {
      const selection = await askSelection(question as ListQuestion, choices[selectable], prompter);
      setAnswer(answers, `${selectable}.include`, selection.include);
      setAnswer(answers, `${selectable}.exclude`, selection.exclude);
      done.add(`${selectable}.exclude`);
      continue;
    }
    const value = await ask(question, answers, choices, prompter);
    if (value !== undefined) setAnswer(answers, question.key, value);
    if (question.key === 'target') await stopAtBlockers(answers, choices, prompter);
  }
  // A bug guard, not a check the operator meets: every answer above passed the same checks.
  resolveAnswers(answers, { secrets, source: "the wizard's answers" });
  return { answers, secrets };
}

/** Shows the target's blockers at once and asks whether to go on answering; no stops the wizard. */
async function stopAtBlockers(answers: Answers, choices: WizardChoices, prompter: Prompter): Promise<void> {
  const target = getAnswer(answers, 'target');
  if (!choices.blockersFor || typeof target !== 'string') return;
  const blockers = await choices.blockersFor(target);
  if (blockers.length === 0) return;
  const named = blockers.map((b) => `${b.key} (${b.title})`).join('; ');
  const goOn = await prompter.confirm({
    message: `Preflight for ${target} found ${blockers.length} blocker(s): ${named}. The run cannot start unless each is fixed or deliberately overridden. Go on with the questions anyway?`,
    default: false,
  });
  if (!goOn) throw new WizardStopped(answers, blockers);
}

/** Given by the file: any value counts, except "" (or []) for a key that must have one. */
function isGiven(question: Question, answers: Answers, secrets: AnswerSecrets): boolean {
  if (question.secret || question.required) return isAnswered(question, answers, secrets);
  return getAnswer(answers, question.key) !== undefined;
}

function selectionOf(question: Question): Selectable | undefined {
  return question.pick === 'images' || question.pick === 'containers' || question.pick === 'volumes' ? question.pick : undefined;
}

/** true, or what is wrong with the value, checked exactly as an answers file would be. */
function validate(question: Question, value: unknown, answers: Answers): true | string {
  const check = checkValue(question, value);
  if (check) return capitalize(check.problem);
  const candidate = copyJson(answers);
  setAnswer(candidate, question.key, value);
  const cross = crossCheck(candidate)[0];
  return cross ? capitalize(cross.message) : true;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function ask(question: Question, answers: Answers, choices: WizardChoices, prompter: Prompter): Promise<unknown> {
  switch (question.kind) {
    case 'choice':
      return askChoice(question, prompter);
    case 'boolean':
      return askBoolean(question, prompter);
    case 'integer':
      return askInteger(question, answers, prompter);
    case 'string':
      if (question.pick === 'block-devices') return askDevice(question, answers, choices, prompter);
      return askString(question, answers, choices, prompter);
    case 'list':
      if (question.pick === 'blockers') return askBlockers(question, choices.blockers, prompter);
      return askList(question, answers, prompter);
  }
}

function askChoice(question: ChoiceQuestion, prompter: Prompter): Promise<string> {
  const width = Math.max(...question.choices.map((c) => c.value.length));
  return prompter.select({
    message: question.message,
    choices: question.choices.map((c) => ({ name: `${c.value.padEnd(width)}  ${c.description}`, value: c.value })),
    default: question.default,
  });
}

function askBoolean(question: BooleanQuestion, prompter: Prompter): Promise<boolean> {
  return prompter.confirm({ message: question.message, default: question.default ?? false });
}

function askInteger(question: IntegerQuestion, answers: Answers, prompter: Prompter): Promise<number> {
  return prompter.number({
    message: question.message,
    default: question.default,
    min: question.min,
    max: question.max,
    validate: (value) => validate(question, value, answers),
  });
}

/** Free text; "" leaves an optional key unanswered (its default, or none, applies). */
async function askString(
  question: StringQuestion,
  answers: Answers,
  choices: WizardChoices,
  prompter: Prompter,
): Promise<string | undefined> {
  let message = question.message;
  let fallback = question.default;
  if (question.key === 'backup.directory' && choices.space) {
    message = `${message} ${spaceText(choices.space)}`;
    fallback = choices.space.directory;
  } else if (!question.required && fallback === undefined) {
    message = `${message} (leave empty for none)`;
  }
  const value = await prompter.input({
    message,
    default: fallback,
    validate: (text) => {
      if (text === '') return question.required ? 'An answer is needed here' : true;
      return validate(question, text, answers);
    },
  });
  return value === '' ? undefined : value;
}

function spaceText(space: NonNullable<WizardChoices['space']>): string {
  const needed = `the backups need about ${formatBytes(space.neededBytes)}`;
  if (space.freeBytes === undefined) return `(${needed})`;
  const short = space.freeBytes < space.neededBytes ? ': not enough there' : '';
  return `(${needed}; ${space.directory} has ${formatBytes(space.freeBytes)} free${short})`;
}

async function askSecret(question: StringQuestion, prompter: Prompter): Promise<string> {
  return prompter.password({
    message: question.message,
    validate: (text) => {
      if (text === '') return question.required ? 'An answer is needed here' : true;
      // Its own check says only how long it may be: a secret is never repeated in a message.
      const check = checkValue(question, text);
      return check ? capitalize(check.problem) : true;
    },
  });
}

/** The devices as a select, unusable ones disabled with why, and a way to type a path. */
async function askDevice(question: StringQuestion, answers: Answers, choices: WizardChoices, prompter: Prompter): Promise<string> {
  const devices = choices.blockDevices;
  const typed = () =>
    prompter.input({
      message: `${question.message} (its path, like ${question.example ?? '/dev/sdb'})`,
      validate: (text) => {
        if (text === '') return 'An answer is needed here';
        const checked = validate(question, text, answers);
        return checked === true ? deviceProblem(text, devices) ?? true : checked;
      },
    });
  if (devices.length === 0) return typed();
  const width = Math.max(...devices.map((d) => d.path.length));
  const sizeWidth = Math.max(...devices.map((d) => sizeText(d).length));
  const offered = devices.map((device) => {
    const fine = checkValue(question, device.path) === undefined;
    const reason = device.disabledReason ?? (fine ? undefined : `not a name the answers file allows (${question.patternText})`);
    return { name: `${deviceLabel(device, width, sizeWidth)}${smallText(device, choices.poolNeedsBytes)}`, value: device.path, disabled: reason ?? false };
  });
  const first = offered.find((c) => !c.disabled);
  const picked = await prompter.select<string>({
    message: question.message,
    choices: [...offered, { name: 'Another device (type its path)', value: OTHER_DEVICE, disabled: false }],
    default: first?.value ?? OTHER_DEVICE,
  });
  return picked === OTHER_DEVICE ? typed() : picked;
}

/** Why a typed device cannot hold the new pool, from what the host listed; undefined when it can. */
function deviceProblem(path: string, devices: readonly BlockDeviceChoice[]): string | undefined {
  if (devices.length === 0) return undefined; // lsblk listed nothing: the run's preflight checks the device
  const device = devices.find((d) => d.path === path);
  if (!device) return `There is no block device ${path} on this host (lsblk does not list it)`;
  return device.disabledReason ? `${path} cannot hold the new pool: ${device.disabledReason}` : undefined;
}

/** The pool gets at most this share of its device (thinpoolPercent's largest sensible value). */
const POOL_SHARE = 0.95;

/** "  (may be too small: ~12 GB to restore)" for a device the pool would not fit on; preflight warns the same. */
function smallText(device: BlockDeviceChoice, neededBytes: number | undefined): string {
  if (neededBytes === undefined || device.sizeBytes === undefined || device.sizeBytes * POOL_SHARE >= neededBytes) return '';
  return `  (may be too small: about ${formatBytes(neededBytes)} to restore)`;
}

function sizeText(device: BlockDeviceChoice): string {
  return device.sizeBytes === undefined ? '?' : formatBytes(device.sizeBytes);
}

/** "/dev/sdb  100 GB  disk  xfs  on /srv" */
function deviceLabel(device: BlockDeviceChoice, width: number, sizeWidth: number): string {
  const parts = [device.path.padEnd(width), sizeText(device).padStart(sizeWidth), (device.type ?? '').padEnd(4)];
  if (device.fsType) parts.push(device.fsType);
  if (device.mountPoints.length > 0) parts.push(`on ${device.mountPoints.map((m) => (m === '[SWAP]' ? 'swap' : m)).join(', ')}`);
  return parts.join('  ').trimEnd();
}

/**
 * A checkbox of every item, all preselected; the selection as globs: everything selected is
 * include ["*"] and exclude [], else the unselected names are excluded by their exact name
 * (new items that appear before the run are then migrated, as with the defaults).
 */
async function askSelection(question: ListQuestion, items: readonly PickItem[], prompter: Prompter): Promise<{ include: string[]; exclude: string[] }> {
  const include = [...(question.default ?? ['*'])];
  if (items.length === 0) return { include, exclude: [] };
  const selected = new Set(
    await prompter.checkbox({
      message: question.message,
      choices: items.map((item) => ({ name: item.label, value: item.value, checked: true })),
    }),
  );
  const exclude = items.filter((item) => !selected.has(item.value)).map((item) => item.value);
  return { include, exclude: [...new Set(exclude)] };
}

/** The blockers found, none preselected: overriding one is a deliberate act. */
async function askBlockers(question: ListQuestion, blockers: WizardChoices['blockers'], prompter: Prompter): Promise<string[]> {
  if (blockers.length === 0) return [...(question.default ?? [])];
  return prompter.checkbox({
    message: question.message,
    choices: blockers.map((b) => ({ name: `${b.key}: ${b.title}`, value: b.key, checked: false })),
  });
}

/** A list as free text, items separated by spaces (globs hold none). */
async function askList(question: ListQuestion, answers: Answers, prompter: Prompter): Promise<string[]> {
  const split = (text: string) => text.split(/\s+/).filter((item) => item !== '');
  const text = await prompter.input({
    message: `${question.message} (${question.listText}, separated by spaces)`,
    default: (question.default ?? []).join(' '),
    validate: (value) => validate(question, split(value), answers),
  });
  return split(text);
}

/** Asks to go ahead; no is the default, so a stray Enter changes nothing. */
export function confirmPlan(prompter: Prompter, message: string): Promise<boolean> {
  return prompter.confirm({ message, default: false });
}

/** The question for source.dockerd, asked apart by `run`, and only in the rescue situation. */
export async function askSourceDockerd(prompter: Prompter): Promise<string> {
  const question = questionFor('source.dockerd')!;
  return (await prompter.input({ message: question.message, validate: (value) => checkValue(question, value.trim())?.problem ?? true })).trim();
}
