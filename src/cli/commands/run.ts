/**
 * `run [--answers FILE] [--yes] [--dry-run]`: the migration. Answers come from the file, else
 * (on a terminal) from the wizard, else the run stops naming the missing key. Preflight and
 * the plan are shown before anything changes; blockers stop the run unless ignored by name.
 */
import { taskListFor } from '../task-list.js';
import path from 'node:path';
import type { AnswerSecrets, Answers, ResolvedAnswers } from '../../config/answers-types.js';
import { missingAnswers, resolveAnswers } from '../../config/answers.js';
import { checkRegistryTransport } from '../../config/registry-transport.js';
import { openDockerDoors, type DockerDoors } from '../../docker/doors.js';
import { registryTransportFacts } from '../../docker/registry.js';
import { registryTrust } from '../../host/registry-trust.js';
import { checkAnswerInputs } from '../../config/input-trust.js';
import type { Inventory } from '../../docker/types.js';
import { orderableOf } from '../../plan/container-order.js';
import { ExitCode, OperatorError, UsageError } from '../../errors.js';
import { gatherPreflightFacts } from '../../facts/gather.js';
import type { PreflightFacts } from '../../facts/types.js';
import type { Host } from '../../host/host.js';
import { NodeHost } from '../../host/node-host.js';
import { detectServiceManager, type ServiceManager } from '../../host/service-manager.js';
import { directLvmCommands, runPool } from '../../plan/direct-lvm.js';
import { probeDeviceIdentity } from '../../facts/device-identity.js';
import { buildPlan, type PlannedFlagEdit, type Plan, type RescuePlanFacts } from '../../plan/plan.js';
import { selectInventory, type Selection } from '../../plan/select.js';
import { analyse } from '../../preflight/analysis.js';
import { DOWNTIME_ESTIMATE_NOTE } from '../../verify/index.js';
import { supportsOverlaySize } from '../../preflight/checks/overlay2.js';
import { preflightChecks, resolvePreflightOptions, type PreflightOptions } from '../../preflight/index.js';
import { NOT_WAIVABLE } from '../../config/unwaivable-blockers.js';
import { blockerRemedy, unwaivedBlockers } from '../../preflight/waivers.js';
import { sortEntries, type ReportEntry } from '../../report/entry.js';
import { formatBytes, formatEntriesText } from '../../report/format.js';
import type { DaemonPlace } from '../../steps/context.js';
import { executeRun } from '../../run/execute.js';
import { ANSWERS_FILE, archiveBaseDir, INVENTORY_FILE, PLAN_FILE, type RecordedInventory } from '../../record/run-files.js';
import { interruptSignal, lockStateDir, openMigration, refuseUnsettledRun } from '../../run/session.js';
import { newRunId, prepareStateDir, RunStore } from '../../state/run-store.js';
import { writeFileAtomic } from '../../fs/atomic-file.js';
import { DEFAULT_RUNTIME_DIR, type CommandContext } from '../../run/command-context.js';
import { decideStaging, stagingNote, type StagingDecision } from '../../plan/staging.js';
import { planKeepDataRoot } from '../../host/data-root.js';
import { dockerdFlags, sideDaemonShownCommands } from '../../host/side-daemon.js';
import { STORAGE_SETUP_FILE, storageSetupEdit } from '../../config/unit-file-edit.js';
import { listBlockDevices } from '../../facts/block-devices.js';
import { inquirerPrompter } from '../prompter.js';
import { askAnswers, askSourceDockerd, confirmPlan, WizardStopped, type WizardChoices } from '../wizard.js';
import { loadAnswersFile } from './answers.js';
import { collectPreflightFacts } from '../../facts/collect.js';
import { parseVersion } from '../../preflight/analysis.js';
import { rescueSituation, RESCUE_REMEDY } from '../../preflight/checks/engine-state.js';
import { checkLegacyDockerd, devicemapperStorageOpts, startRescue, type StartedRescue } from '../../run/rescue.js';
import { RESCUE_NOTE, STARTED_SIDE_DAEMON, type RescueNote } from '../../steps/rescue.js';
import { sideDaemonArgs, sideDaemonConfig, sideDaemonLayout, sideDaemonManager } from '../../host/side-daemon.js';

interface RunOptions {
  answers?: string;
  yes?: boolean;
  dryRun?: boolean;
}

export async function runCommand(cli: CommandContext, raw: Record<string, unknown>): Promise<number> {
  const options = raw as RunOptions;
  const interactive = canPrompt(cli);
  if (!options.dryRun) await refuseUnsettledRun(cli.options.stateDir);
  // The answers file first: a mistake in it is exit 2 before anything, Docker included, is asked.
  let given: Answers = options.answers ? await loadAnswersFile(options.answers) : {};
  const host = new NodeHost(cli.options.hostRoot);
  host.withholdEnv([given.registry?.passwordEnv]);
  // The run id names the new thin pool (its volume group and LVM tag) and a rescue's side daemon, so the plan shown is the one run.
  const runId = newRunId();
  const source = await sourceDaemon(host, cli, given, { interactive, dryRun: options.dryRun === true, runId });
  if (source.kind === 'dry-run') return ExitCode.ok;
  given = source.given;
  const rescue = source.kind === 'rescue' ? source.rescue : undefined;
  // Until the run exists and has journalled it, a rescue's side daemon is this function's to stop (blockers, no confirmation, an error).
  let handedOver = false;
  try {
    const docker = source.docker;
    const inventory = source.inventory;
    // Preflight reads the daemon it talks to: in rescue mode, the legacy side daemon.
    const factsCli: CommandContext = rescue ? { ...cli, options: { ...cli.options, dockerHost: rescue.note.dockerHost } } : cli;

    const gather = async (options: PreflightOptions) => {
      const gathered = await gatherFacts(host, factsCli, inventory, options);
      return source.kind === 'rescue' ? withInstalledEngine(gathered, source.hostFacts) : gathered;
    };
    let facts = await gather(resolvePreflightOptions({ backupDirectory: cli.options.stateDir, daemonConfigPath: cli.options.daemonConfig }));
    let secrets: AnswerSecrets = {};
    let fromWizard = false;
    // On a terminal the wizard asks what the file (if any) leaves open; elsewhere resolveAnswers names it.
    if (interactive && (!options.answers || missingAnswers(given).length > 0)) {
      const choices = await wizardChoices(host, inventory, facts, cli);
      const asked = await askAnswers(given, choices, inquirerPrompter()).catch(async (error: unknown) => {
        if (error instanceof WizardStopped) throw await withKeptAnswers(error, cli);
        throw error;
      });
      given = asked.answers;
      secrets = asked.secrets;
      fromWizard = true;
    }
    const answers = resolveAnswers(given, { stateDir: cli.options.stateDir, secrets, source: options.answers ?? 'the answers' });
    host.withholdEnv([answers.registry?.passwordEnv]);
    await checkAnswerInputs(host, answers, cli.options.stateDir);

    const selection = selectInventory(inventory, answers);
    // Before preflight's entries: the downtime estimate leaves out the image loads a staged run makes before the stop.
    const staging = await stagingFor(host, cli, facts, answers, selection, runId, rescue !== undefined);
    const preflightOptions = { ...preflightOptionsOf(answers, cli), staged: staging.staged };
    if (preflightOptions.backupDirectory !== cli.options.stateDir || preflightOptions.device) {
      facts = await gather(preflightOptions);
    }
    const entries = sortEntries([...preflightChecks(facts, preflightOptions), ...(await registryChecks(host, docker, answers))]);
    refuseAlreadyOnTarget(entries, cli);
    const blockers = unwaivedBlockers(entries, answers.ignoreBlockers);
    const shown = entries.filter((e) => e.severity !== 'info' || e.key === 'downtime-estimate');
    cli.stderr(formatEntriesText(shown, { color: cli.options.color && process.stderr.isTTY === true }));
    if (blockers.length) {
      cli.stderr(`\n${blockers.length} blocker(s): ${blockers.map((b) => b.key).join(', ')}. Nothing was changed.\n${blockerRemedy(blockers)}\n`);
      if (fromWizard) cli.stderr(`${await keepWizardAnswers(cli, given, secrets)}\n`);
      return ExitCode.findings;
    }

    // auto must stop the very dockerd behind --docker-host, not another one on the machine (in rescue mode: the installed engine, chosen before the side daemon started).
    const serving = facts.host.dockerd;
    const service = source.kind === 'rescue'
      ? source.installedService
      : await detectServiceManager(host, answers.service, { serving: { dockerHost: cli.options.dockerHost, pid: serving?.pid, systemdUnit: serving?.systemdUnit } });
    const daemon = { ...daemonPlace(facts, cli, answers), ...(source.kind === 'rescue' && source.installedPlace) };
    const flagEdits = flagEditTargets(facts, preflightOptions);
    // The carried containers' inspects (read only): restore's input, and what orders their stops and starts.
    const recorded = await recordInventory(docker, inventory, selection);
    const orderable = recorded.inspects.map(orderableOf);
    const planFor = (runDir: string, planRunId?: string, archiveDir = runDir) =>
      buildPlan(inventory, selection, answers, {
        dataRoot: daemon.dataRoot,
        runId: planRunId,
        daemonConfigPath: daemon.configPath,
        runDir,
        archiveDir,
        stopCommands: service.stopCommands,
        startCommands: service.startCommands,
        flagEdits,
        ...(answers.directLvm && { thinPool: { ...runPool(runId), commands: directLvmCommands({ ...answers.directLvm, ...runPool(runId) }) } }),
        orderable,
        ...(rescue && { rescue: rescuePlanFacts(rescue.note) }),
        // The dry run shows the run's own paths with <run-id> in them.
        staging: planRunId ? staging : (JSON.parse(JSON.stringify(staging).split(runId).join('<run-id>')) as StagingDecision),
      });

    if (options.dryRun) {
      const plan = planFor(path.join(cli.options.stateDir, 'runs', '<run-id>'));
      cli.stdout(formatPlan(plan, service, true));
      cli.stderr('Dry run: nothing was changed.\n');
      return ExitCode.ok;
    }
    cli.stdout(formatPlan(planFor(path.join(cli.options.stateDir, 'runs', '<run-id>')), service, false));
    await confirm(cli, options, interactive);

    const lock = await lockStateDir(cli, 'run');
    const interrupt = interruptSignal(cli.stderr);
    try {
      // Again under the lock: a run started by another process since the check above is seen here.
      await refuseUnsettledRun(cli.options.stateDir);
      const runDir = path.join(cli.options.stateDir, 'runs', runId);
      const archiveBase = archiveBaseDir(answers.backup.directory, cli.options.stateDir, runId);
      const plan = planFor(runDir, runId, archiveBase);
      // Which disk directLvm.device is now: the pool is built only on that same disk (a resume after a reboot may find another one under the name).
      const targetDevice = answers.directLvm ? await probeDeviceIdentity(host, answers.directLvm.device) : undefined;
      const store = await RunStore.create(cli.options.stateDir, { dockerHost: cli.options.dockerHost, daemonConfig: cli.options.daemonConfig }, plan.steps, {
        runId,
        notes: {
          daemon,
          // resume and rollback use this one: with the daemon stopped, auto could no longer check it.
          service,
          // Read by the rewrite of daemon.json: dm.basesize becomes overlay2.size only where dockerd accepts it.
          overlaySizeSupported: supportsOverlaySize(facts.host.dataRoot),
          // The report puts the measured downtime beside it.
          [DOWNTIME_ESTIMATE_NOTE]: entries.find((e) => e.key === 'downtime-estimate')?.details?.totalSeconds,
          ...(targetDevice && { targetDevice }),
          ...(rescue && { [RESCUE_NOTE]: rescue.note }),
        },
        documents: { [ANSWERS_FILE]: answers, [PLAN_FILE]: plan, [INVENTORY_FILE]: recorded },
      });
      // The side daemon runs already: journalled first, so that any rollback stops it by its pid file and removes its directory.
      if (rescue) await store.journal('record-inventory', STARTED_SIDE_DAEMON, { dir: sideDaemonLayout(rescue.note.spec).dir, pidFile: sideDaemonLayout(rescue.note.spec).pidFile });
      handedOver = true;
      if (fromWizard) cli.stderr(`The answers are saved in ${store.path(ANSWERS_FILE)}: ${repeatHint(store.path(ANSWERS_FILE), secrets)}\n`);
      const { ctx, screen } = await openMigration(cli, { store, answers, secrets, recorded, plan, daemon, service }, interrupt.signal, taskListFor(cli));
      screen.log.line(`run ${store.runId} started by devmapper-migrate run${options.answers ? ` --answers ${options.answers}` : ''}`);
      // Pre-staging or not, and why not: the plan's note, in the run's log too.
      screen.log.line(stagingNote(staging));
      return await executeRun(ctx, screen);
    } finally {
      interrupt.dispose();
      await lock.release();
    }
  } finally {
    if (rescue && !handedOver) await rescue.abandon().catch((error: unknown) => cli.stderr(`Could not stop the legacy dockerd again: ${(error as Error).message}\n`));
  }
}

/**
 * Whether the run pre-stages its images (answers `staging`), from what the host has: the
 * serving dockerd's own program (/proc/<pid>/exe: the engine that runs, not one a package
 * update put on disk since), where the data-root is and the space on its filesystem. `on`
 * where it cannot work stops here, before anything changed.
 */
async function stagingFor(host: Host, cli: CommandContext, facts: PreflightFacts, answers: ResolvedAnswers, selection: Selection, runId: string, rescue: boolean): Promise<StagingDecision> {
  const serving = facts.host.dockerd;
  const exe = serving ? await host.realpath(`/proc/${serving.pid}/exe`) : undefined;
  const dockerd = exe && (await host.stat(exe))?.kind === 'file' ? exe : undefined;
  const dataRoot = facts.docker.daemon.dockerRootDir;
  const kept = await planKeepDataRoot(host, { dataRoot, runId }).catch(() => undefined);
  const estimate = analyse(facts, resolvePreflightOptions({ backupDirectory: answers.backup.directory, daemonConfigPath: cli.options.daemonConfig })).estimate;
  const decision = decideStaging({
    answer: answers.staging,
    rescue,
    target: answers.target,
    imagesSaved: answers.images.save,
    imageCount: selection.images.length,
    dockerd,
    dataRoot: kept?.path ?? dataRoot,
    dataRootIsMountPoint: kept?.method === 'contents',
    freeBytes: facts.host.dataRoot.space?.availableBytes,
    layersBytes: estimate.layersBytes,
    loadScratchBytes: estimate.loadScratchBytes,
    runId,
    runtimeBase: cli.options.runtimeDir ?? DEFAULT_RUNTIME_DIR,
  });
  if (answers.staging === 'on' && !decision.staged) {
    throw new OperatorError(`Pre-staging cannot work on this host: ${decision.reason}. Nothing was changed.`, 'Set staging: auto (falls back to loading the images inside the downtime) or staging: off in the answers, or fix the cause, then run again.');
  }
  if (!decision.staged) return decision;
  const spec = { name: 'staging', runId, runtimeDir: decision.runtimeDir, dockerd: decision.dockerd, dataRoot: decision.stagedRoot, storageDriver: 'overlay2', storageOpts: [] };
  return { ...decision, commands: sideDaemonShownCommands(spec, await dockerdFlags(host, decision.dockerd)) };
}

/**
 * A daemon that already runs the target driver has nothing to migrate, and a run would move its
 * data-root aside and restore everything again: a full outage for nothing. Not waivable.
 */
function refuseAlreadyOnTarget(entries: ReportEntry[], cli: CommandContext): void {
  const already = entries.find((e) => e.key === 'already-on-target');
  if (!already) return;
  throw new OperatorError(
    `The daemon behind ${cli.options.dockerHost} already runs the target driver (${already.title}): there is nothing to migrate, and nothing was changed.`,
    'If a run of this tool migrated it, see `devmapper-migrate status` (then `finalize` or `rollback`); otherwise check that --docker-host names the daemon you mean.',
    ExitCode.findings,
  );
}

/** Prompts are allowed: a terminal on both ends, no --json, not CI. */
export function canPrompt(cli: CommandContext): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && !cli.options.json && !process.env.CI;
}

async function confirm(cli: CommandContext, options: RunOptions, interactive: boolean): Promise<void> {
  if (options.yes) return;
  if (!interactive) {
    throw new UsageError('The run needs a confirmation, and there is no terminal to ask on.', 'Read the plan above, then run again with --yes (or use --dry-run to only print it).');
  }
  if (!(await confirmPlan(inquirerPrompter(), 'Start the migration now?'))) {
    throw new OperatorError('Not started: the migration was not confirmed. Nothing was changed.', 'Run again when ready.', ExitCode.ok);
  }
}

function preflightOptionsOf(answers: ResolvedAnswers, cli: CommandContext): PreflightOptions {
  return resolvePreflightOptions({
    target: answers.target,
    device: answers.directLvm?.device,
    wipeSignatures: answers.directLvm?.wipeSignatures,
    thinpoolPercent: answers.directLvm?.thinpoolPercent,
    backupDirectory: answers.backup.directory,
    saveImages: answers.images.save,
    archiveVolumes: answers.volumes.archive,
    serviceManager: answers.service.manager,
    daemonConfigPath: cli.options.daemonConfig,
    sourceDockerd: answers.source?.dockerd,
  });
}

type SourceDaemon =
  | { kind: 'installed'; given: Answers; docker: DockerDoors; inventory: Inventory }
  | {
      kind: 'rescue';
      given: Answers;
      docker: DockerDoors;
      inventory: Inventory;
      rescue: StartedRescue;
      installedService: ServiceManager;
      installedPlace: Partial<DaemonPlace>;
      /** The host as found before the side daemon started: the installed engine's process, program and socket. */
      hostFacts: PreflightFacts;
    }
  | { kind: 'dry-run' };

/**
 * The daemon the run reads the data through. Ordinarily the installed one behind --docker-host.
 * In the rescue situation (an engine v25+ that refuses the devicemapper data or runs an empty
 * store beside it) with source.dockerd (asked for here on a terminal), the legacy dockerd,
 * started as a side daemon on the old data-root (src/run/rescue.ts); a dry run only says so.
 */
async function sourceDaemon(host: Host, cli: CommandContext, given: Answers, run: { interactive: boolean; dryRun: boolean; runId: string }): Promise<SourceDaemon> {
  const served = await openDockerDoors(cli.options.dockerHost)
    .then(async (docker) => ({ docker, inventory: await docker.system.inventory() }))
    .catch((error: unknown) => {
      if (error instanceof OperatorError && !(error instanceof UsageError)) return { error };
      throw error;
    });
  const reads = 'inventory' in served && served.inventory.daemon.driver === 'devicemapper';
  const hostFacts = reads ? undefined : await collectPreflightFacts(host, { dockerHost: cli.options.dockerHost, daemonConfigPath: cli.options.daemonConfig, backupDirectory: cli.options.stateDir, stateDirectory: cli.options.stateDir });
  const situation = hostFacts ? rescueSituation(analyse(hostFacts, resolvePreflightOptions({ daemonConfigPath: cli.options.daemonConfig }))) : undefined;
  let dockerd = given.source?.dockerd || undefined;
  if (situation && !dockerd && run.interactive) {
    cli.stderr(`Rescue mode: ${situation}. The run can read the data through a legacy dockerd (older than 25) and then start the installed engine on overlay2.\n`);
    dockerd = await askSourceDockerd(inquirerPrompter());
    given = { ...given, source: { dockerd } };
  }
  if (!situation || !hostFacts) {
    if (dockerd) {
      throw new OperatorError(
        `source.dockerd is given, but this host is not in the rescue situation: ${reads ? `the daemon behind ${cli.options.dockerHost} reads the devicemapper data itself` : `no engine v25+ refuses a populated devicemapper/ here`}. Nothing was changed.`,
        'Leave source.dockerd out of the answers: it is only for a host whose installed engine (v25+) cannot read its devicemapper data.',
      );
    }
    if ('error' in served) throw served.error;
    return { kind: 'installed', given, ...served };
  }
  // A daemon that answers gets preflight's report, whose blocker names source.dockerd.
  if (!dockerd && 'inventory' in served) return { kind: 'installed', given, ...served };
  if (!dockerd) {
    throw new OperatorError(`${situation[0]!.toUpperCase()}${situation.slice(1)}: the installed engine cannot read it, and the run needs a legacy dockerd to. Nothing was changed.`, RESCUE_REMEDY.replace(/^Or, without reinstalling: k/, 'K'));
  }
  const legacyVersion = await checkLegacyDockerd(host, dockerd);
  const running = 'inventory' in served ? hostFacts.host.dockerd : undefined;
  const serviceAnswers = { manager: given.service?.manager ?? 'auto', stop: given.service?.stop ?? '', start: given.service?.start ?? '' };
  const installedService = await detectServiceManager(host, serviceAnswers, { serving: running ? { dockerHost: cli.options.dockerHost, pid: running.pid, systemdUnit: running.systemdUnit } : undefined });
  const installedPath = hostFacts.host.installedDockerd?.path;
  const installedVersion = hostFacts.host.installedDockerd ? parseVersion(hostFacts.host.installedDockerd.versionOutput)?.raw : undefined;
  const dataRoot = hostFacts.docker.daemon.dockerRootDir;
  const storageOpts = devicemapperStorageOpts(hostFacts);
  const runtimeDir = cli.options.runtimeDir ?? DEFAULT_RUNTIME_DIR;
  if (run.dryRun) {
    const spec = { name: 'source', runId: '<run-id>', runtimeDir: `${runtimeDir}/<run-id>`, dockerd, dataRoot, storageDriver: 'devicemapper', storageOpts };
    cli.stdout(
      [
        `Rescue mode: ${situation}; the data is read through ${dockerd} (Docker ${legacyVersion}).`,
        'Before the plan, the run:',
        ...(running ? [`  - stops the installed engine (${installedService.stopCommands.join('; ')}): two daemons never share a data-root`] : []),
        `  - writes ${sideDaemonLayout(spec).configFile}: ${sideDaemonConfig(spec).replace(/\s+/g, ' ').trim()}`,
        `  - $ ${[dockerd, ...sideDaemonArgs(spec, { dataRoot: true, containerdNamespaces: true })].join(' ')}`,
        `  - GET /_ping (until it answers), GET /info (Driver must be devicemapper, Docker Root Dir ${dataRoot})`,
        '  - reads the inventory through it; every export step talks to it, stop-daemon stops it, and the installed engine starts on overlay2.',
        'The plan itself needs that inventory: the run shows it before it asks to start (it stops the legacy dockerd again when not confirmed).',
      ].join('\n') + '\n',
    );
    cli.stderr('Dry run: nothing was changed, and nothing was started.\n');
    return { kind: 'dry-run' };
  }
  const rescue = await startRescue(host, {
    runId: run.runId,
    runtimeDir,
    dockerd,
    legacyVersion,
    dataRoot,
    storageOpts,
    installedDockerHost: cli.options.dockerHost,
    installedService,
    installedPidFile: pidFileOf(hostFacts),
    installed: { path: installedPath, version: installedVersion },
    timeoutSeconds: given.service?.timeoutSeconds ?? 300,
    say: (line) => cli.stderr(`${line}\n`),
  });
  try {
    const docker = await openDockerDoors(rescue.note.dockerHost);
    const inventory = meantToRun(await docker.system.inventory());
    const installedPlace: Partial<DaemonPlace> = { pidFile: pidFileOf(hostFacts), ...(installedPath && { dockerdBinary: installedPath }) };
    return { kind: 'rescue', given, docker, inventory, rescue, installedService, installedPlace, hostFacts };
  } catch (error) {
    await rescue.abandon();
    throw error;
  }
}

/**
 * In rescue mode the daemon's facts are the side daemon's, and the host's dockerd facts the
 * installed engine's: it is the engine the host starts after the run, whose flags, program and
 * socket the checks are about (the side daemon's own command line and config file are the run's).
 */
function withInstalledEngine(facts: PreflightFacts, installed: PreflightFacts): PreflightFacts {
  const { dockerHost, dockerd, dockerdCandidates, installedDockerd } = installed.host;
  return { ...facts, host: { ...facts.host, dockerHost, dockerd, dockerdCandidates, installedDockerd } };
}

/**
 * The side daemon restarts the containers whose restart policy says so when it starts, and the
 * ones it cannot start (the default bridge it does not have) stay down: a container with
 * restart policy always or unless-stopped is recorded as meant to run, and runs after the run.
 */
export function meantToRun(inventory: Inventory): Inventory {
  const meant = (c: Inventory['containers'][number]) => c.running || c.restartPolicy.name === 'always' || c.restartPolicy.name === 'unless-stopped';
  return { ...inventory, containers: inventory.containers.map((c) => (meant(c) && !c.running ? { ...c, running: true, state: 'running' } : c)) };
}

/** What the plan says of a rescue: the legacy dockerd and how stop-daemon stops it. */
function rescuePlanFacts(note: RescueNote): RescuePlanFacts {
  return { dockerd: note.spec.dockerd, version: note.legacyVersion, dockerHost: note.dockerHost, stopCommand: sideDaemonManager(note.spec, { dataRoot: true, containerdNamespaces: true }).stopCommands.join('; ') };
}

/**
 * Whether the push can work, before anything changes: the registry answers, and speaks HTTPS
 * with a trusted certificate unless the answers allow an insecure one (registry.insecure) and
 * the daemon lists it. The daemon would otherwise fall back or fail only at the first push.
 */
async function registryChecks(host: Host, docker: DockerDoors, answers: ResolvedAnswers): Promise<ReportEntry[]> {
  if (!answers.images.push || !answers.registry) return [];
  const { address } = answers.registry;
  return checkRegistryTransport(answers.registry, await registryTransportFacts(docker.system, address, await registryTrust(host, address)));
}

function gatherFacts(host: Host, cli: CommandContext, inventory: Inventory, options: PreflightOptions): Promise<PreflightFacts> {
  return gatherPreflightFacts(host, { daemon: inventory.daemon, inventory }, {
    dockerHost: cli.options.dockerHost,
    daemonConfigPath: options.daemonConfigPath,
    backupDirectory: options.backupDirectory,
    stateDirectory: cli.options.stateDir,
    targetDevice: options.target === 'direct-lvm' ? options.device : undefined,
  });
}

/** Blockers that only say a later question is not answered yet (right after the target question). */
const ANSWERED_LATER = new Set(['target-device-not-given']);

/** Where the wizard's answers are kept when a blocker stops the run before it has a directory. */
const WIZARD_ANSWERS_FILE = 'wizard-answers.json';

/**
 * Keeps what the operator answered (never a typed secret), so that fixing a blocker does not
 * mean answering everything again; returns the sentence that says where and how to use it.
 */
async function keepWizardAnswers(cli: CommandContext, answers: Answers, secrets: AnswerSecrets): Promise<string> {
  await prepareStateDir(cli.options.stateDir);
  const file = path.join(cli.options.stateDir, WIZARD_ANSWERS_FILE);
  await writeFileAtomic(file, `${JSON.stringify(answers, null, 2)}\n`, 0o600);
  return `Your answers are kept in ${file}: \`devmapper-migrate run --answers ${file}\` asks only what they leave open.${secrets['registry.password'] ? ' The registry password you typed is not kept.' : ''}`;
}

/** The wizard's stop at the target's blockers, with where its answers were kept (no secret is asked before the target). */
async function withKeptAnswers(stopped: WizardStopped, cli: CommandContext): Promise<OperatorError> {
  const kept = await keepWizardAnswers(cli, stopped.answers, {});
  return new OperatorError(stopped.message, `${stopped.remedy} ${kept}`, stopped.exitCode);
}

/** How the saved answers repeat the run unattended, and what to add when a password was typed. */
export function repeatHint(file: string, secrets: AnswerSecrets): string {
  const command = `\`devmapper-migrate run --answers ${file} --yes\``;
  if (!secrets['registry.password']) return `${command} repeats this run unattended.`;
  return `the registry password you typed is not saved, so add registry.passwordEnv or registry.passwordFile to it; then ${command} repeats this run unattended.`;
}

/** The choices the wizard offers, from the inventory and the facts. */
async function wizardChoices(host: Host, inventory: Inventory, facts: PreflightFacts, cli: CommandContext): Promise<WizardChoices> {
  const options = resolvePreflightOptions({ backupDirectory: cli.options.stateDir, daemonConfigPath: cli.options.daemonConfig });
  const analysis = analyse(facts, options);
  const blockersOf = (checked: PreflightOptions) =>
    preflightChecks(facts, checked)
      .filter((e) => e.severity === 'blocker' && !ANSWERED_LATER.has(e.key))
      .map((b) => ({ key: b.key, title: b.title }));
  // What the ignoreBlockers question offers: only what may be overridden.
  const blockers = blockersOf(options).filter((b) => !NOT_WAIVABLE.has(b.key));
  return {
    blockersFor: async (target) => blockersOf(resolvePreflightOptions({ ...options, target: target as PreflightOptions['target'] })),
    blockDevices: await listBlockDevices(host),
    ...pickLists(inventory),
    blockers,
    poolNeedsBytes: analysis.estimate.layersBytes + analysis.estimate.writableBytes,
    space: { neededBytes: analysis.estimate.backupBytes, freeBytes: facts.host.backupDirectory.space?.availableBytes, directory: cli.options.stateDir },
  };
}

/** The wizard's pick lists: one item per image (by its first tag, else its ID), container and volume. */
export function pickLists(inventory: Pick<Inventory, 'images' | 'containers' | 'volumes'>): Pick<WizardChoices, 'images' | 'containers' | 'volumes'> {
  return {
    images: inventory.images.map((i) => ({ value: i.tags[0] ?? i.id, label: `${i.tags.join(', ') || `<untagged> ${i.id.slice(7, 19)}`} (${formatBytes(i.size)})` })),
    containers: inventory.containers.map((c) => ({ value: c.name, label: `${c.name} (${c.image}, ${c.state})` })),
    volumes: inventory.volumes.map((v) => ({ value: v.name, label: `${v.name}${v.size >= 0 ? ` (${formatBytes(v.size)})` : ''}` })),
  };
}

/** Where the daemon keeps its data and pid file, and the drivers before and after. */
function daemonPlace(facts: PreflightFacts, cli: CommandContext, answers: ResolvedAnswers): DaemonPlace {
  const daemon = facts.docker.daemon;
  // The program the serving dockerd runs: what a restart starts again, whichever unit or command does it.
  const dockerdBinary = facts.host.dockerd?.argv[0] ?? facts.host.installedDockerd?.path;
  return {
    dataRoot: daemon.dockerRootDir,
    pidFile: pidFileOf(facts),
    configPath: cli.options.daemonConfig,
    sourceDriver: daemon.driver,
    targetDriver: answers.target === 'direct-lvm' ? 'devicemapper' : 'overlay2',
    serverVersion: daemon.serverVersion,
    ...(dockerdBinary && { dockerdBinary }),
  };
}

/** dockerd's --pidfile (or -p), else daemon.json's "pidfile", else the default. */
export function pidFileOf(facts: PreflightFacts): string {
  const argv = facts.host.dockerd?.argv ?? [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const inline = /^--pidfile=(.+)$/.exec(word)?.[1];
    if (inline) return inline;
    if ((word === '--pidfile' || word === '-p') && argv[i + 1]) return argv[i + 1]!;
  }
  const text = facts.host.daemonJson.text;
  if (text) {
    try {
      const pidfile = (JSON.parse(text) as { pidfile?: unknown }).pidfile;
      if (typeof pidfile === 'string' && pidfile) return pidfile;
    } catch {
      // preflight reports an invalid daemon.json; the default applies meanwhile
    }
  }
  return '/var/run/docker.pid';
}

/** Files outside daemon.json whose storage flags the cutover removes (preflight found them), and docker-storage-setup's. */
function flagEditTargets(facts: PreflightFacts, options: PreflightOptions): PlannedFlagEdit[] {
  const places = analyse(facts, options)
    .places.filter((place) => place.kind !== 'cmdline' && place.flags.some((f) => f.setting !== 'data-root'))
    .map((place) => ({
      path: place.path,
      kind: place.kind as PlannedFlagEdit['kind'],
      variable: place.variable,
      removes: place.flags.filter((f) => f.setting !== 'data-root').map((f) => f.text),
    }));
  const storageSetup = storageSetupEdit(facts.host.systemd.storageSetupUnits, facts.host.environmentFiles.find((f) => f.path === STORAGE_SETUP_FILE)?.text);
  return storageSetup ? [...places, { path: STORAGE_SETUP_FILE, kind: 'storage-setup', ...storageSetup }] : places;
}

/** inventory.json: the whole inventory, what is carried, and each carried container's full inspect. */
async function recordInventory(docker: DockerDoors, inventory: Inventory, selection: Selection): Promise<RecordedInventory> {
  const inspects = await docker.containers.inspect(selection.containers.map((c) => c.id));
  return {
    inventory,
    selection: {
      images: selection.images.map((i) => i.id),
      containers: selection.containers.map((c) => c.name),
      volumes: selection.volumes.map((v) => v.name),
      networks: selection.networks.map((n) => n.name),
    },
    inspects,
  };
}

/** How Docker is stopped and started, as the plan's first line says it ("through command: asked for: command" said nothing). */
export function serviceText(service: Pick<ServiceManager, 'kind' | 'reason'>): string {
  if (service.kind === 'command') return 'Docker is stopped and started by the stop and start commands of the answers';
  const why = service.reason.replace(/^asked for: \S+ ?/, '').replace(/^\((.*)\)$/, '$1').replace(/^auto: /, 'found automatically: ');
  return `Docker is stopped and started through ${service.kind}${why ? `, ${why}` : ''}`;
}

/** The plan for people: every step, and with --dry-run every API call and command in it. */
export function formatPlan(plan: Plan, service: ServiceManager, withActions: boolean): string {
  const lines = [`Plan: migrate to ${plan.target} (${serviceText(service)})`];
  let phase = '';
  for (const step of plan.steps) {
    if (step.phase !== phase) {
      phase = step.phase;
      lines.push(`${phase}:`);
    }
    lines.push(`  ${step.downtime ? '*' : '-'} ${step.title} [${step.id}]`);
    if (withActions) for (const action of step.actions) lines.push(`      ${action}`);
  }
  lines.push('  (* containers are down during these steps)');
  for (const note of plan.notes) lines.push(`Note: ${note}`);
  return `${lines.join('\n')}\n`;
}

