/**
 * Finding dockerd's storage flags wherever a command line can hide them: an argv from
 * /proc/<pid>/cmdline, a systemd unit's ExecStart (with its drop-ins, Environment= and
 * EnvironmentFile=), and shell-quoted values in /etc/sysconfig/docker* or /etc/default/docker.
 * Pure: callers read the files.
 */
import { splitWords, wordsOf } from '../text/words.js';

/** daemon.json key a flag corresponds to (dockerd refuses to start when both are set). */
export type StorageSetting = 'storage-driver' | 'storage-opts' | 'data-root';

export interface StorageFlag {
  setting: StorageSetting;
  /** The flag as written: "-s", "--storage-driver", "--storage-opt", "--data-root", "-g", "--graph". */
  flag: string;
  value: string;
  /** Flag and value as one readable string, e.g. "--storage-opt dm.thinpooldev=/dev/mapper/x". */
  text: string;
}

export interface DockerdArgs {
  storageFlags: StorageFlag[];
  /** -H/--host values, in order. */
  hosts: string[];
  configFile?: string;
  pidfile?: string;
}

interface ValueFlag {
  name: string;
  setting?: StorageSetting;
}

const LONG_VALUE_FLAGS: Record<string, ValueFlag> = {
  '--storage-driver': { name: 'storage-driver', setting: 'storage-driver' },
  '--storage-opt': { name: 'storage-opt', setting: 'storage-opts' },
  '--data-root': { name: 'data-root', setting: 'data-root' },
  '--graph': { name: 'graph', setting: 'data-root' },
  '--host': { name: 'host' },
  '--config-file': { name: 'config-file' },
  '--pidfile': { name: 'pidfile' },
};

/** dockerd's one-letter flags that take a value (pflag shorthands, old and new). */
const SHORT_VALUE_FLAGS: Record<string, ValueFlag> = {
  s: { name: 'storage-driver', setting: 'storage-driver' },
  g: { name: 'graph', setting: 'data-root' },
  H: { name: 'host' },
  p: { name: 'pidfile' },
  G: { name: 'group' },
  b: { name: 'bridge' },
  l: { name: 'log-level' },
  e: { name: 'exec-driver' },
};
/** One-letter boolean flags that may precede a value flag in a cluster such as "-Ds overlay2". */
const SHORT_BOOL_FLAGS = new Set(['D', 'd', 'v', 'h']);

/** Finds storage flags, hosts, config file and pidfile in dockerd's arguments (without argv[0]). */
export function parseDockerdArgs(args: readonly string[]): DockerdArgs {
  const result: DockerdArgs = { storageFlags: [], hosts: [] };
  const take = (flag: string, spec: ValueFlag, value: string) => {
    if (spec.setting) {
      const joiner = flag.startsWith('--') ? '=' : ' ';
      result.storageFlags.push({ setting: spec.setting, flag, value, text: `${flag}${joiner}${value}` });
    }
    if (spec.name === 'host') result.hosts.push(value);
    if (spec.name === 'config-file') result.configFile = value;
    if (spec.name === 'pidfile') result.pidfile = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg : arg.slice(0, eq);
      const spec = LONG_VALUE_FLAGS[name];
      if (!spec) continue;
      if (eq !== -1) take(name, spec, arg.slice(eq + 1));
      else if (i + 1 < args.length) take(name, spec, args[++i]!);
      continue;
    }
    if (!arg.startsWith('-') || arg.length < 2) continue;
    // A cluster of shorthands: booleans, then at most one flag that takes the rest or the next arg.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      if (SHORT_BOOL_FLAGS.has(letter)) continue;
      const spec = SHORT_VALUE_FLAGS[letter];
      if (!spec) break;
      let rest = arg.slice(j + 1);
      if (rest.startsWith('=')) rest = rest.slice(1);
      if (rest !== '') take(`-${letter}`, spec, rest);
      else if (i + 1 < args.length) take(`-${letter}`, spec, args[++i]!);
      break;
    }
  }
  return result;
}

/** Whether an argv is a Docker daemon: dockerd, RHEL's dockerd-current, or old `docker daemon`/`docker -d`. */
export function isDockerdCommandLine(argv: readonly string[]): boolean {
  const program = basename(argv[0] ?? '');
  // RHEL's docker and docker-latest packages name theirs dockerd-current and dockerd-latest.
  if (/^dockerd(?:-current|-latest)?$/.test(program)) return true;
  if (program === 'docker') return argv[1] === 'daemon' || argv.slice(1).some((a) => a === '-d' || a === '--daemon');
  return false;
}

/** dockerd's arguments from a full argv: drops the program and the old `daemon` subcommand. */
export function dockerdArgsOf(argv: readonly string[]): string[] {
  const rest = argv.slice(1);
  if (basename(argv[0] ?? '') === 'docker' && rest[0] === 'daemon') return rest.slice(1);
  return rest;
}

/** argv from the NUL-separated text of /proc/<pid>/cmdline. */
export function parseProcCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** Storage flags in a shell-quoted option string such as a sysconfig `OPTIONS=` value. */
export function storageFlagsInOptions(value: string): StorageFlag[] {
  return parseDockerdArgs(wordsOf(value, 'shell')).storageFlags;
}

export interface Assignment {
  name: string;
  value: string;
  /** 1-based line where the assignment starts. */
  line: number;
}

/**
 * Assignments of an environment file (/etc/sysconfig/docker*, /etc/default/docker, a unit's
 * EnvironmentFile=): `NAME=value` with optional `export`, # and ; comments, quotes removed,
 * backslash-newline continuations joined. A value keeps its inner spaces, as systemd keeps them.
 */
export function parseEnvironmentFile(text: string): Assignment[] {
  const result: Assignment[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let line = lines[i]!;
    while (line.endsWith('\\') && !line.endsWith('\\\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) continue;
    result.push({ name: match[1]!, value: unquoteValue(match[2]!), line: startLine });
  }
  return result;
}

/** The last value of each name in an environment file: what a shell or systemd would end up with. */
export function environmentOf(assignments: readonly Assignment[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of assignments) env[a.name] = a.value;
  return env;
}

/** Removes shell quoting from a value while keeping unquoted inner whitespace. */
function unquoteValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "'") {
      const end = raw.indexOf("'", i + 1);
      out += raw.slice(i + 1, end === -1 ? raw.length : end);
      i = end === -1 ? raw.length : end;
    } else if (c === '"') {
      i++;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) {
          out += raw[i + 1];
          i += 2;
        } else out += raw[i++];
      }
    } else if (c === '\\' && i + 1 < raw.length) {
      out += raw[++i];
    } else out += c;
  }
  return out.trim();
}

export interface UnitDirective {
  section: string;
  key: string;
  value: string;
  /** 1-based line where the directive starts. */
  line: number;
}

/** Directives of a systemd unit or drop-in file, with continuation lines joined. */
export function parseUnitFile(text: string): UnitDirective[] {
  const result: UnitDirective[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1);
      continue;
    }
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = lines[++i]!.trim();
      if (next.startsWith('#') || next.startsWith(';')) continue; // systemd skips comment lines inside continuations
      line = `${line.slice(0, -1)} ${next}`;
    }
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    result.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: startLine });
  }
  return result;
}

/** A file of a service's configuration, in systemd's order (unit first, then drop-ins). */
export interface UnitFileText {
  path: string;
  text: string;
}

export interface ServiceCommand {
  /** The effective ExecStart value, still with $VARIABLES; undefined when none is set. */
  execStart?: string;
  /** File and line that set it. */
  source?: { path: string; line: number };
  /** EnvironmentFile= paths in order; `optional` when prefixed with "-". */
  environmentFiles: { path: string; optional: boolean }[];
  /** Environment= assignments, merged in order. */
  environment: Record<string, string>;
}

/**
 * The effective [Service] command of a unit and its drop-ins: an empty `ExecStart=` resets the
 * list, the last one left wins (services have one); EnvironmentFile= and Environment= accumulate.
 */
export function serviceCommand(files: readonly UnitFileText[]): ServiceCommand {
  const result: ServiceCommand = { environmentFiles: [], environment: {} };
  for (const file of files) {
    for (const d of parseUnitFile(file.text)) {
      if (d.section !== 'Service') continue;
      if (d.key === 'ExecStart') {
        if (d.value === '') {
          delete result.execStart;
          delete result.source;
        } else {
          result.execStart = d.value;
          result.source = { path: file.path, line: d.line };
        }
      } else if (d.key === 'EnvironmentFile') {
        if (d.value === '') result.environmentFiles = [];
        for (const word of wordsOf(d.value, 'systemd')) {
          const optional = word.startsWith('-');
          result.environmentFiles.push({ path: optional ? word.slice(1) : word, optional });
        }
      } else if (d.key === 'Environment') {
        if (d.value === '') result.environment = {};
        for (const word of wordsOf(d.value, 'systemd')) {
          const eq = word.indexOf('=');
          if (eq > 0) result.environment[word.slice(0, eq)] = word.slice(eq + 1);
        }
      }
    }
  }
  return result;
}

/** Variables an ExecStart line refers to ($NAME or ${NAME}). */
export function referencedVariables(execStart: string): string[] {
  const names = new Set<string>();
  for (const m of execStart.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add((m[1] ?? m[2])!);
  return [...names];
}

/**
 * An ExecStart value as the argv systemd would run, following systemd.service(5): prefixes
 * such as "-" or "+" are dropped, quotes group words, a word that is exactly `$NAME` becomes
 * the variable's value split at whitespace (zero or more words), `${NAME}` inside a word is
 * replaced as is, and unset variables are empty.
 */
export function execStartArgv(execStart: string, env: Readonly<Record<string, string>>): string[] {
  const words = splitWords(execStart, 'systemd');
  const argv: string[] = [];
  for (const [index, { value, quoted }] of words.entries()) {
    let word = value;
    if (index === 0) word = word.replace(/^[-@:+!]+/, '');
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole && !quoted) {
      argv.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    argv.push(word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? ''));
  }
  return argv.filter((w, i) => i > 0 || w !== '');
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
