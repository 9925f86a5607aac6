import { openDockerDoors } from '../../docker/doors.js';
import { ExitCode, OperatorError } from '../../errors.js';
import { NodeHost } from '../../host/node-host.js';
import type { ResolvedAnswers } from '../../config/answers-types.js';
import { ANSWERS_FILE, INVENTORY_FILE, VOLUME_TREES_FILE, type RecordedInventory, type VerifyExpectation } from '../../record/run-files.js';
import { selectedContainers } from '../../record/selection.js';
import { RunStore } from '../../state/run-store.js';
import type { RunState } from '../../state/types.js';
import { formatVerifyText, verifyHost, verifyJson, runCaveats, withCaveats, writeVerifyReport, type RecordedVolumeTrees } from '../../verify/index.js';
import type { CommandContext } from '../../run/command-context.js';
import { hostStateNow, nextCommand } from './status.js';

/** Which driver the host must be on now: the source one after a rollback, else the run's target. */
export function expectationFor(state: Pick<RunState, 'status'>, recorded: RecordedInventory, answers: Pick<ResolvedAnswers, 'target'>): VerifyExpectation {
  if (state.status === 'rolled-back') return { driver: recorded.inventory.daemon.driver, configMustBeClean: false };
  return { driver: answers.target === 'direct-lvm' ? 'devicemapper' : 'overlay2', configMustBeClean: true };
}

/**
 * A run that stopped half-way has nothing to verify yet: comparing would list every container
 * it has not restored as a difference. Say where the host stands and what continues or undoes.
 */
function refuseUnfinished(state: RunState): void {
  if (!['in-progress', 'failed', 'rolling-back', 'rollback-failed'].includes(state.status)) return;
  const next = nextCommand(state);
  throw new OperatorError(
    `Run ${state.runId} is not finished (${state.status}), so there is nothing to verify yet. The host now: ${hostStateNow(state)}`,
    `Next: \`${next.command}\` (${next.why}).`,
  );
}

async function required<T>(store: RunStore, name: string): Promise<T> {
  const value = await store.readJson<T>(name);
  if (value === undefined) {
    throw new OperatorError(
      `Run ${store.runId} has no ${name} (${store.path(name)}): there is nothing to compare the host with.`,
      'The run stopped before it recorded the host; start it again with `devmapper-migrate run`, or `resume` it.',
    );
  }
  return value;
}

/**
 * `verify [--json]`: compares the host with the current run's recorded inventory (changes
 * nothing on the host), writes report.json and report.txt into the run directory, prints the
 * report. Exit 0 when the host matches, 1 when there are differences.
 */
export async function verifyCommand(ctx: CommandContext, _options: Record<string, unknown>): Promise<number> {
  const store = await RunStore.openCurrent(ctx.options.stateDir);
  if (!store) {
    throw new OperatorError(
      `No run to verify: ${ctx.options.stateDir} holds no current run.`,
      'Migrate the host first with `devmapper-migrate run` (or pass --state-dir with the directory the run used).',
      ExitCode.usage,
    );
  }
  refuseUnfinished(store.state);
  const recorded = await required<RecordedInventory>(store, INVENTORY_FILE);
  const answers = await required<ResolvedAnswers>(store, ANSWERS_FILE);
  const expect = expectationFor(store.state, recorded, answers);
  // After a rollback the volumes' files are not compared, as rollback's own verify does not:
  // what the containers wrote after the cutover was carried back on purpose.
  const volumeTrees = store.state.status === 'rolled-back' ? undefined : await store.readJson<RecordedVolumeTrees>(VOLUME_TREES_FILE);

  const docker = await openDockerDoors(ctx.options.dockerHost);
  const host = new NodeHost(ctx.options.hostRoot);
  const verified = await verifyHost({ docker, host, recorded, volumeTrees, expect, daemonConfigPath: ctx.options.daemonConfig });
  // After a rollback the original containers are back with their own layers: nothing was lost.
  const result = store.state.status === 'rolled-back' ? verified : withCaveats(verified, runCaveats(store.state, selectedContainers(recorded)));
  await writeVerifyReport(store.runDir, result);

  if (ctx.options.json) ctx.stdout(verifyJson(result));
  else {
    ctx.stdout(formatVerifyText(result, { color: ctx.options.color && process.stdout.isTTY === true }));
    ctx.stdout(`Report written to ${store.path('report.txt')} and report.json.\n`);
  }
  return result.differences > 0 ? ExitCode.findings : ExitCode.ok;
}
