/**
 * Every answer a run needs, declared once (docs/contract.md, "Answers file"). The answers
 * file parser, `answers --template`, the JSON Schema and the wizard are all derived from
 * these declarations; a new key is added here and nowhere else.
 */
import type { AnswerSecrets, Answers } from './answers-types.js';

/** A test on another answer; a key that is not answered counts with its default. */
export type Condition =
  | { key: string; equals: string | boolean }
  /** The key is answered with something other than "" (defaults do not count). */
  | { key: string; isSet: boolean };

/** Where the wizard can offer a list to pick from instead of free text. */
export type PickFrom = 'block-devices' | 'images' | 'containers' | 'volumes' | 'blockers';

interface QuestionCommon {
  /** Dot path in the answers file, e.g. "directLvm.thinpoolPercent". */
  key: string;
  /** The wizard's question. */
  message: string;
  /** What the key means: the template's comment and the schema's description. */
  help: string;
  /** The question applies (is asked, is used) only when all of these hold. */
  when?: readonly Condition[];
  /** When it applies, it must be answered, and not with "": there is no default. */
  required?: boolean;
  /** Asked masked, never written to a file, a log or the state dir; see AnswerSecrets. */
  secret?: boolean;
  /** Error messages never repeat the value: an operator may have pasted a secret into it. */
  quiet?: boolean;
  /** Said instead of a fixed default when the default depends on the run. */
  defaultText?: string;
  /** An example value for the template, for keys without a default. */
  example?: string;
  /** The wizard offers a list of these instead of free text. */
  pick?: PickFrom;
  /** Not in the wizard's run of questions: the run asks it apart, only when the host needs it (source.dockerd). */
  askedApart?: boolean;
  /** false: the wizard does not ask it (its default suits a run at a terminal); the answers file sets it. */
  wizard?: false;
}

export interface Choice {
  value: string;
  description: string;
}

export interface ChoiceQuestion extends QuestionCommon {
  kind: 'choice';
  choices: readonly Choice[];
  default?: string;
}

export interface BooleanQuestion extends QuestionCommon {
  kind: 'boolean';
  default?: boolean;
}

export interface IntegerQuestion extends QuestionCommon {
  kind: 'integer';
  min: number;
  max: number;
  default?: number;
}

export interface StringQuestion extends QuestionCommon {
  kind: 'string';
  /** ECMAScript regular expression (compiled with the "u" flag here and by JSON Schema tools). */
  pattern?: string;
  /** What the pattern allows, in words: "must be <patternText>". */
  patternText?: string;
  maxLength: number;
  default?: string;
}

export interface ListQuestion extends QuestionCommon {
  kind: 'list';
  /** Every item is a non-empty string matching this. */
  itemPattern: string;
  /** What the list is, in words: "a list of globs over container names". */
  listText: string;
  /** What an item is, in words: "a glob without spaces, like app/*". */
  itemText: string;
  /** An item for "like [...]" when the default list is empty. */
  itemExample: string;
  itemMaxLength: number;
  maxItems: number;
  default?: readonly string[];
}

export type Question = ChoiceQuestion | BooleanQuestion | IntegerQuestion | StringQuestion | ListQuestion;

/** A group of keys in the file (a mapping under one top-level key). */
export interface Section {
  key: string;
  help: string;
  when?: readonly Condition[];
}

const DIRECT_LVM: readonly Condition[] = [{ key: 'target', equals: 'direct-lvm' }];
const PUSH: readonly Condition[] = [{ key: 'images.push', equals: true }];
const COMMAND: readonly Condition[] = [{ key: 'service.manager', equals: 'command' }];

const GLOB = '^\\S+$';
const ABSOLUTE_PATH = '^/.*$';
const MAX_STRING = 4096;
const MAX_ITEMS = 10_000;

function globs(key: string, what: string, pick: PickFrom, include: boolean): ListQuestion {
  return {
    key,
    kind: 'list',
    message: include ? `Which ${what} should be migrated?` : `Which ${what} should be left out?`,
    help: include
      ? `Globs over ${what === 'images' ? 'repo:tag (untagged images are listed, never silently lost)' : `${what.slice(0, -1)} names`}; only matching ${what} are migrated.`
      : `Globs over the same names; matching ${what} are left out even when included.`,
    itemPattern: GLOB,
    listText: `a list of globs over ${what === 'images' ? 'repo:tag' : `${what.slice(0, -1)} names`}`,
    itemText: what === 'images' ? 'a glob over repo:tag without spaces, like app/* or *:latest' : 'a glob without spaces, like web-*',
    itemExample: what === 'images' ? 'app/*' : 'web-*',
    itemMaxLength: 1024,
    maxItems: MAX_ITEMS,
    default: include ? ['*'] : [],
    pick,
  };
}

/** The top-level mappings of the answers file, in the file's order. */
export const SECTIONS: readonly Section[] = [
  { key: 'directLvm', help: 'The new LVM thin pool.', when: DIRECT_LVM },
  { key: 'images', help: 'Which images to carry over, and how they are kept.' },
  { key: 'registry', help: 'Where images are pushed; secrets only by environment variable or file.', when: PUSH },
  { key: 'containers', help: 'Which containers to carry over.' },
  { key: 'volumes', help: 'Which volumes to carry over.' },
  { key: 'backup', help: 'Where the backups go, and how the old data-root is kept until finalize.' },
  { key: 'service', help: 'How the Docker daemon is stopped and started.' },
  { key: 'source', help: 'Rescue: the host runs an engine (v25+) that cannot read its devicemapper data; the run reads it through a legacy dockerd.' },
];

/** Every question, in the order of the answers file (and of the wizard). */
export const QUESTIONS: readonly Question[] = [
  {
    key: 'target',
    kind: 'choice',
    message: 'Which storage driver should Docker use after the migration?',
    help: 'The storage driver to move to.',
    choices: [
      { value: 'overlay2', description: 'overlay2 on the existing filesystem (ext4, or xfs with ftype=1)' },
      { value: 'direct-lvm', description: 'a new LVM thin pool (direct-lvm) on a block device of its own' },
    ],
    required: true,
  },
  {
    key: 'directLvm.device',
    kind: 'string',
    message: 'Which block device should hold the new thin pool?',
    help: 'The block device for the new thin pool; it must not belong to the current pool or hold a filesystem.',
    when: DIRECT_LVM,
    required: true,
    pattern: '^/dev/\\S+$',
    patternText: 'a block device path under /dev, like /dev/sdb',
    maxLength: MAX_STRING,
    example: '/dev/sdb',
    pick: 'block-devices',
  },
  {
    key: 'directLvm.wipeSignatures',
    kind: 'boolean',
    message: 'Wipe existing signatures (wipefs) on that device if there are any?',
    help: 'true allows wiping existing signatures (partition table, LVM, filesystem) on that device.',
    when: DIRECT_LVM,
    default: false,
  },
  {
    key: 'directLvm.thinpoolPercent',
    kind: 'integer',
    message: 'How much of the volume group should the thin pool data take (percent)?',
    help: 'Percent of the volume group for the thin pool data (lvcreate -l N%VG).',
    when: DIRECT_LVM,
    min: 1,
    max: 100,
    default: 95,
  },
  {
    key: 'directLvm.metadataPercent',
    kind: 'integer',
    message: 'How much of the volume group should the thin pool metadata take (percent)?',
    help: 'Percent of the volume group for the thin pool metadata; with thinpoolPercent at most 100.',
    when: DIRECT_LVM,
    min: 1,
    max: 100,
    default: 1,
  },
  {
    key: 'directLvm.autoextendThreshold',
    kind: 'integer',
    message: 'At what fill level (percent) should LVM extend the thin pool?',
    help: 'LVM extends the pool when it is this full (thin_pool_autoextend_threshold; 100 turns it off).',
    when: DIRECT_LVM,
    min: 50,
    max: 100,
    default: 80,
  },
  {
    key: 'directLvm.autoextendPercent',
    kind: 'integer',
    message: 'By how much (percent) should LVM extend the thin pool each time?',
    help: 'How much LVM adds each time, in percent of the pool (thin_pool_autoextend_percent).',
    when: DIRECT_LVM,
    min: 1,
    max: 100,
    default: 20,
  },
  globs('images.include', 'images', 'images', true),
  globs('images.exclude', 'images', 'images', false),
  {
    key: 'images.save',
    kind: 'boolean',
    message: 'Save the images as docker save archives in the backup directory?',
    help: 'docker save archives of the images into the backup directory.',
    default: true,
  },
  {
    key: 'images.push',
    kind: 'boolean',
    message: 'Also push the images to a registry?',
    help: 'Also push the images to the registry below.',
    default: false,
  },
  {
    key: 'registry.address',
    kind: 'string',
    message: 'Registry address (host or host:port)?',
    help: 'The registry to push to: host or host:port, without https://.',
    when: PUSH,
    required: true,
    pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$',
    patternText: 'a registry host name or address with an optional port and no scheme, like registry.example.com:5000',
    maxLength: 255,
    example: 'registry.example.com:5000',
  },
  {
    key: 'registry.repositoryPrefix',
    kind: 'string',
    message: 'Prefix for the pushed repositories?',
    help: 'Images are pushed as <address>/<prefix><repo>:<tag>.',
    when: PUSH,
    pattern: '^([a-z0-9][a-z0-9._-]*/)*[a-z0-9._-]*$',
    patternText: "lower-case letters, digits, '.', '_', '-' and '/' (not first), like migrated/",
    maxLength: 255,
    default: 'migrated/',
  },
  {
    key: 'registry.username',
    kind: 'string',
    message: 'Registry user name (empty for none)?',
    help: 'The registry user; leave it out for a registry without authentication.',
    when: PUSH,
    pattern: '^[^\\s:]*$',
    patternText: "a user name without spaces or ':' (\"\" for none)",
    maxLength: 255,
    example: 'deploy',
  },
  {
    key: 'registry.passwordEnv',
    kind: 'string',
    message: 'Name of the environment variable that holds the registry password?',
    help: 'The name of an environment variable that holds the password (not the password itself).',
    when: PUSH,
    pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
    patternText: 'the name of an environment variable, like REGISTRY_PASSWORD (never the password itself)',
    maxLength: 255,
    quiet: true,
    example: 'REGISTRY_PASSWORD',
  },
  {
    key: 'registry.passwordFile',
    kind: 'string',
    message: 'File that holds the registry password?',
    help: 'A file that holds the password; used when passwordEnv is not given or its variable is empty.',
    when: PUSH,
    pattern: ABSOLUTE_PATH,
    patternText: 'an absolute path, like /root/.registry-pass (never the password itself)',
    maxLength: MAX_STRING,
    quiet: true,
    example: '/root/.registry-pass',
  },
  {
    key: 'registry.password',
    kind: 'string',
    message: 'Registry password?',
    help: 'The registry password, asked by the wizard only; in a file, give passwordEnv or passwordFile.',
    when: [
      ...PUSH,
      { key: 'registry.username', isSet: true },
      { key: 'registry.passwordEnv', isSet: false },
      { key: 'registry.passwordFile', isSet: false },
    ],
    required: true,
    secret: true,
    quiet: true,
    maxLength: MAX_STRING,
  },
  {
    key: 'registry.insecure',
    kind: 'boolean',
    message: 'Is it an insecure (plain HTTP) registry?',
    help: 'true only for a plain-HTTP registry (it must also be in the daemon\'s insecure-registries); for a private CA put its certificate in /etc/docker/certs.d/<address>/ca.crt instead.',
    when: PUSH,
    default: false,
  },
  globs('containers.include', 'containers', 'containers', true),
  globs('containers.exclude', 'containers', 'containers', false),
  {
    key: 'containers.keepWritableLayer',
    kind: 'boolean',
    message: 'Keep the files changed inside the containers (their writable layers)?',
    help: 'Files changed inside containers survive the migration.',
    default: true,
  },
  globs('volumes.include', 'volumes', 'volumes', true),
  globs('volumes.exclude', 'volumes', 'volumes', false),
  {
    key: 'volumes.archive',
    kind: 'boolean',
    message: 'Also keep a tar archive of each volume in the backup directory?',
    help: 'Also keep a tar archive of each volume in the backup directory.',
    default: true,
  },
  {
    key: 'staging',
    kind: 'choice',
    message: 'Load the images into the new data-root before the containers stop (pre-staging)?',
    help: 'Pre-staging: load the images into the new data-root while the containers still run.',
    choices: [
      { value: 'auto', description: 'where it can work; else without, and the plan says why' },
      { value: 'on', description: 'always: where it cannot work, the run stops before any change' },
      { value: 'off', description: 'never: images load after Docker restarts, inside the downtime' },
    ],
    default: 'auto',
    wizard: false,
  },
  {
    key: 'backup.directory',
    kind: 'string',
    message: 'Where should image and volume archives go?',
    help: 'Where image and volume archives go.',
    pattern: ABSOLUTE_PATH,
    patternText: 'an absolute path, like /srv/docker-backup',
    maxLength: MAX_STRING,
    defaultText: 'the state directory (--state-dir, /var/lib/devmapper-migrate unless given)',
  },
  {
    key: 'backup.dataRoot',
    kind: 'choice',
    message: 'How should the old data-root be kept until finalize?',
    help: 'How the old data-root is kept until finalize.',
    choices: [
      { value: 'move', description: 'renamed aside on the same filesystem (fast, no extra space)' },
      { value: 'archive', description: 'a tar archive in the backup directory (needs its size in free space)' },
      { value: 'move+archive', description: 'both' },
    ],
    default: 'move',
  },
  {
    key: 'service.manager',
    kind: 'choice',
    message: 'How is the Docker daemon stopped and started?',
    help: 'What stops and starts it.',
    choices: [
      { value: 'auto', description: 'systemd when it runs, else the SysV init script' },
      { value: 'systemd', description: 'systemctl stop/start docker (and docker.socket)' },
      { value: 'sysvinit', description: 'service docker stop/start' },
      { value: 'command', description: 'the stop and start commands below' },
    ],
    default: 'auto',
  },
  {
    key: 'service.stop',
    kind: 'string',
    message: 'Command that stops the Docker daemon?',
    help: 'With manager: command, the shell command that stops the Docker daemon.',
    when: COMMAND,
    required: true,
    maxLength: MAX_STRING,
    example: 'systemctl stop docker',
  },
  {
    key: 'service.start',
    kind: 'string',
    message: 'Command that starts the Docker daemon?',
    help: 'With manager: command, the shell command that starts the Docker daemon.',
    when: COMMAND,
    required: true,
    maxLength: MAX_STRING,
    example: 'systemctl start docker',
  },
  {
    key: 'service.timeoutSeconds',
    kind: 'integer',
    message: 'How long (seconds) may the daemon take to stop or start?',
    help: 'How long the daemon may take to stop or to start, in seconds.',
    min: 1,
    max: 86_400,
    default: 300,
  },
  {
    key: 'source.dockerd',
    kind: 'string',
    message: 'Path of a legacy dockerd (24.x or older) that can read the devicemapper data?',
    help:
      'Rescue mode, for a host whose installed engine (v25+) refuses its devicemapper data or started an empty overlay2 beside it: ' +
      'a dockerd binary older than 25 (e.g. kept from the old package) that the run starts on the old data-root, on a private socket, ' +
      'to export everything; the installed engine is then started on overlay2. Leave it out on a host whose engine reads the data.',
    pattern: ABSOLUTE_PATH,
    patternText: 'an absolute path, like /root/dockerd-20.10',
    maxLength: MAX_STRING,
    example: '/root/dockerd-20.10',
    askedApart: true,
  },
  {
    key: 'rollbackOnFailure',
    kind: 'boolean',
    message: 'Roll back automatically if the run fails after the daemon was stopped?',
    help: 'Roll back automatically when the run fails after the daemon was stopped.',
    default: true,
  },
  {
    key: 'ignoreBlockers',
    kind: 'list',
    message: 'Which preflight blockers should be overridden?',
    help: 'Preflight blocker keys to override, by name (at your own risk).',
    itemPattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
    listText: 'a list of blocker keys',
    itemText: 'a blocker key as preflight names it, like daemon-json-invalid',
    itemExample: 'daemon-json-invalid',
    itemMaxLength: 256,
    maxItems: 1000,
    default: [],
    pick: 'blockers',
  },
];

const BY_KEY = new Map(QUESTIONS.map((q) => [q.key, q]));

/** The questions an answers file may answer: all but the secret ones. */
export const FILE_QUESTIONS: readonly Question[] = QUESTIONS.filter((q) => !q.secret);

/** The declaration of a key, or undefined. */
export function questionFor(key: string): Question | undefined {
  return BY_KEY.get(key);
}

/** The value a key's answer has in `answers`, or undefined (no default applied). */
export function getAnswer(answers: Answers, key: string): unknown {
  let node: unknown = answers;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Object.prototype.hasOwnProperty.call(node, part) ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node;
}

/** Sets a key's answer in place (the wizard records answers with it); secrets are refused. */
export function setAnswer(answers: Answers, key: string, value: unknown): void {
  if (questionFor(key)?.secret) throw new Error(`${key} is a secret and never goes into Answers`);
  const parts = key.split('.');
  let node = answers as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** The answer, else the declared default (undefined when there is none). */
export function effectiveAnswer(answers: Answers, key: string): unknown {
  const value = getAnswer(answers, key);
  if (value !== undefined) return value;
  const question = questionFor(key);
  return question && 'default' in question ? question.default : undefined;
}

/** Whether every condition holds for these answers. */
export function conditionsHold(conditions: readonly Condition[] | undefined, answers: Answers): boolean {
  return (conditions ?? []).every((condition) => {
    if ('equals' in condition) return effectiveAnswer(answers, condition.key) === condition.equals;
    const value = getAnswer(answers, condition.key);
    return (value !== undefined && value !== '') === condition.isSet;
  });
}

/** Whether the question applies (is asked and used) with these answers. */
export function isApplicable(question: Question, answers: Answers): boolean {
  return conditionsHold(question.when, answers);
}

/** Whether the question has an answer (a secret one in `secrets`); "" and [] count as none. */
export function isAnswered(question: Question, answers: Answers, secrets: AnswerSecrets = {}): boolean {
  const value = question.secret ? secrets[question.key as keyof AnswerSecrets] : getAnswer(answers, question.key);
  return value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0);
}

/** A condition in words, for comments and messages: "target is direct-lvm". */
export function conditionText(conditions: readonly Condition[]): string {
  return conditions
    .map((c) => ('equals' in c ? `${c.key} is ${String(c.equals)}` : `${c.key} is ${c.isSet ? 'given' : 'not given'}`))
    .join(' and ');
}

/** What the key allows, in words: "true or false", "a whole number from 1 to 100". */
export function allowedText(question: Question): string {
  switch (question.kind) {
    case 'choice': {
      const values = question.choices.map((c) => c.value);
      return values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;
    }
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `a whole number from ${question.min} to ${question.max}`;
    case 'string':
      return question.patternText ?? 'a string';
    case 'list': {
      const like = question.default?.length ? question.default : [question.itemExample];
      return `${question.listText}, like [${like.map((v) => JSON.stringify(v)).join(', ')}]`;
    }
  }
}

const patternCache = new Map<string, RegExp>();
function matches(pattern: string, text: string): boolean {
  let regexp = patternCache.get(pattern);
  if (!regexp) patternCache.set(pattern, (regexp = new RegExp(pattern, 'u')));
  return regexp.test(text);
}

/**
 * Checks one value against its declaration: undefined when it is fine, else what it must be
 * ("must be true or false"). `index` is set for a list item's own problem. Null and undefined
 * (not answered) are fine here; missingAnswers() deals with required keys.
 */
export function checkValue(question: Question, value: unknown): { problem: string; index?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  const must = (problem: string, index?: number) => ({ problem: `must be ${problem}`, index });
  switch (question.kind) {
    case 'choice':
      return typeof value === 'string' && question.choices.some((c) => c.value === value)
        ? undefined
        : must(allowedText(question));
    case 'boolean':
      return typeof value === 'boolean' ? undefined : must(allowedText(question));
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= question.min && value <= question.max
        ? undefined
        : must(allowedText(question));
    case 'string':
      if (typeof value !== 'string') return must(question.patternText ?? 'a string');
      if (value.length > question.maxLength) return must(`at most ${question.maxLength} characters long`);
      if (question.pattern && !matches(question.pattern, value)) return must(allowedText(question));
      return undefined;
    case 'list': {
      if (!Array.isArray(value)) return must(allowedText(question));
      if (value.length > question.maxItems) return must(`a list of at most ${question.maxItems} items`);
      const index = value.findIndex((item) => checkListItem(question, item) !== undefined);
      return index < 0 ? undefined : must(question.itemText, index);
    }
  }
}

/** Checks one item of a list answer: undefined when fine, else what it must be. */
export function checkListItem(question: ListQuestion, item: unknown): string | undefined {
  const fine =
    typeof item === 'string' &&
    item.length > 0 &&
    item.length <= question.itemMaxLength &&
    matches(question.itemPattern, item);
  return fine ? undefined : `must be ${question.itemText}`;
}
