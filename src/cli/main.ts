import { NEWEST_KNOWN_ENGINE } from '../preflight/engine-removals.js';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, fileSystemProblem, OperatorError } from '../errors.js';
import {
  DEFAULT_DAEMON_CONFIG,
  DEFAULT_DOCKER_HOST,
  DEFAULT_STATE_DIR,
  type CommandContext,
  type GlobalOptions,
} from '../run/command-context.js';
import { VERSION } from '../version.js';
import { escapeForTerminal } from '../report/escape.js';

type Handler = (ctx: CommandContext, options: Record<string, unknown>) => Promise<number>;

/** The contract's commands (docs/contract.md), each with its own options and handler. */
interface CommandSpec {
  name: string;
  summary: string;
  options?: Option[];
  /** One optional positional argument, handed to the handler as `options.runId`. */
  runIdArgument?: boolean;
  load: () => Promise<Handler>;
}

const jsonOption = () => new Option('--json', 'machine-readable output');
const yesOption = () => new Option('--yes', 'do not ask for confirmation');

const COMMANDS: CommandSpec[] = [
  {
    name: 'preflight',
    summary: 'facts, blockers, warnings, space and downtime estimate, readiness for the target engine (changes nothing)',
    options: [jsonOption(), new Option('--target-engine <version>', `the Docker Engine release to check readiness for (default: ${NEWEST_KNOWN_ENGINE}, the newest the tool knows)`)],
    load: async () => (await import('./commands/preflight.js')).preflightCommand,
  },
  {
    name: 'inventory',
    summary: 'images, containers, volumes, networks, with sizes (changes nothing)',
    options: [jsonOption()],
    load: async () => (await import('./commands/inventory.js')).inventoryCommand,
  },
  {
    name: 'run',
    summary: 'the migration: wizard unless --answers; --dry-run prints the plan and changes nothing',
    options: [
      new Option('--answers <file>', 'answers file (YAML or JSON) for an unattended run'),
      yesOption(),
      new Option('--dry-run', 'print every API call and command of the plan, change nothing'),
    ],
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  {
    name: 'resume',
    summary: 'continue an interrupted run from its state file',
    options: [yesOption()],
    load: async () => (await import('./commands/resume.js')).resumeCommand,
  },
  {
    name: 'status',
    summary: 'a run (default: the current one): steps done, step in progress, what to do next',
    options: [jsonOption()],
    runIdArgument: true,
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  {
    name: 'verify',
    summary: "compare the host with the run's saved inventory",
    options: [jsonOption()],
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  {
    name: 'rollback',
    summary: 'put the host back as it was before the run (default: the current one), then verify that',
    options: [yesOption()],
    runIdArgument: true,
    load: async () => (await import('./commands/rollback.js')).rollbackCommand,
  },
  {
    name: 'finalize',
    summary: 'after a verified run: delete the backups and the old thin pool',
    options: [yesOption()],
    load: async () => (await import('./commands/finalize.js')).finalizeCommand,
  },
  {
    name: 'answers',
    summary: 'answers file tools: --template prints a commented file with every key; --check FILE checks one',
    options: [
      new Option('--template', 'print a commented answers file with every key, default and choice'),
      new Option('--check <file>', 'check an answers file for an unattended run: exit 0, or 2 naming every problem'),
      jsonOption(),
    ],
    load: async () => (await import('./commands/answers.js')).answersCommand,
  },
];

function globalOptions(program: Command, env: NodeJS.ProcessEnv): GlobalOptions {
  const raw = program.opts<{
    stateDir?: string;
    dockerHost?: string;
    daemonConfig?: string;
    json?: boolean;
    verbose?: boolean;
    color?: boolean;
  }>();
  return {
    stateDir: raw.stateDir ?? DEFAULT_STATE_DIR,
    dockerHost: raw.dockerHost ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST),
    daemonConfig: raw.daemonConfig ?? DEFAULT_DAEMON_CONFIG,
    json: raw.json ?? false,
    verbose: raw.verbose ?? false,
    color: raw.color !== false && !env.NO_COLOR,
    hostRoot: env.DEVMAPPER_MIGRATE_HOST_ROOT || '/',
    ...(env.DEVMAPPER_MIGRATE_RUNTIME_DIR && { runtimeDir: env.DEVMAPPER_MIGRATE_RUNTIME_DIR }),
  };
}

// Shown after the command list: the exit codes every script relies on, and where to start.
const HELP_FOOTER = `
Exit codes:
  0    success
  1    preflight found blockers, or verify found differences
  2    bad usage, an invalid answers file, or nothing to act on (no run; resume of a rolled-back run)
  3    the run failed and the host was rolled back automatically
  4    the run stopped and needs you: the state is kept; the message names resume or rollback
  130  interrupted (Ctrl+C); resumable

Examples:
  devmapper-migrate preflight                        can this host be migrated, and how long is it down?
  devmapper-migrate run                              the wizard (on a terminal)
  devmapper-migrate answers --template > answers.yaml
  devmapper-migrate run --answers answers.yaml --yes unattended
  devmapper-migrate status                           where the newest run stands, and what to do next
  devmapper-migrate rollback                         put the host back as it was

Global options go before or after the command. Full reference: docs/contract.md.
`;

function buildProgram(onAction: (spec: CommandSpec, options: Record<string, unknown>) => void): Command {
  const program = new Command('devmapper-migrate')
    .description('Move a Docker host off the devicemapper storage driver, safely and reversibly.')
    .version(VERSION)
    .option('--state-dir <dir>', `state directory (default: ${DEFAULT_STATE_DIR})`)
    .option('--docker-host <url>', `Docker API address (default: $DOCKER_HOST, else ${DEFAULT_DOCKER_HOST})`)
    .option('--daemon-config <file>', `daemon configuration file (default: ${DEFAULT_DAEMON_CONFIG})`)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'more detail')
    .option('--no-color', 'no colours in the output')
    // Global options are recognised after the command too (as kubectl and podman do), and
    // each command's help lists them.
    .configureHelp({ showGlobalOptions: true })
    .addHelpCommand('help [command]', 'usage of one command')
    .addHelpText('after', HELP_FOOTER)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  for (const spec of COMMANDS) {
    // Commander 11 (the last for Node 16) accepts stray arguments unless told; 13 refused them by default.
    const command = program.command(spec.name).description(spec.summary).allowExcessArguments(false).exitOverride();
    for (const option of spec.options ?? []) command.addOption(option);
    if (spec.runIdArgument) {
      command.argument('[run-id]', 'the run (see the directories under <state-dir>/runs); default: the current run');
      command.action((runId: string | undefined, options: Record<string, unknown>) => onAction(spec, { ...options, runId }));
    } else {
      command.action((options: Record<string, unknown>) => onAction(spec, options));
    }
  }
  // No command: usage, as docker and git do (the wizard is `run`). Anything else left over is
  // a mistyped command.
  program.allowExcessArguments(true).action((_options: unknown, self: Command) => {
    const [unknown] = self.args;
    if (unknown !== undefined) {
      const known = COMMANDS.map((c) => c.name).join(', ');
      self.error(`error: unknown command '${unknown}' (the commands are: ${known}; see --help)`, { exitCode: 2 });
    }
    self.help();
  });
  return program;
}

/**
 * A reader that went away (`verify | head`) is not an error of ours: stop writing to stdout and
 * let the command finish, so its exit code still tells what it found.
 */
export function ignoreClosedStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Parses argv, runs the command, and returns the process exit code; never throws. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let chosen: { spec: CommandSpec; options: Record<string, unknown> } | undefined;
  const program = buildProgram((spec, options) => {
    chosen = { spec, options };
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; a usage mistake is exit 2 (commander already printed it).
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    throw error;
  }
  if (!chosen) return ExitCode.usage;

  const options = globalOptions(program, env);
  if (chosen.options.json) options.json = true;
  const ctx: CommandContext = {
    options,
    // One place for every line a command prints: control characters from container-made names are shown, not obeyed.
    stdout: (text) => process.stdout.write(escapeForTerminal(text)),
    stderr: (text) => process.stderr.write(escapeForTerminal(text)),
  };
  try {
    const handler = await chosen.spec.load();
    return await handler(ctx, chosen.options);
  } catch (error) {
    return reportFailure(ctx, error);
  }
}

function reportFailure(ctx: CommandContext, thrown: unknown): number {
  const error = fileSystemProblem(thrown) ?? thrown;
  if (error instanceof OperatorError) {
    if (ctx.options.json) {
      ctx.stdout(JSON.stringify({ error: { message: error.message, remedy: error.remedy } }, null, 2) + '\n');
    }
    ctx.stderr(`devmapper-migrate: ${error.message}\n  ${error.remedy}\n`);
    return error.exitCode;
  }
  // A bug, not an operator's mistake: keep the stack so it can be reported.
  ctx.stderr(`devmapper-migrate: internal error (please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
  return ExitCode.needsOperator;
}
