import path from 'node:path';
import type { ResolvedAnswers } from '../../config/answers-types.js';
import type { DaemonFacts } from '../../docker/types.js';
import { ExitCode, OperatorError, UsageError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { NodeHost } from '../../host/node-host.js';
import { poolState, splitDmName } from '../../preflight/analysis.js';
import { formatBytes } from '../../report/format.js';
import { ANSWERS_FILE, archiveBaseDir, INVENTORY_FILE, REPORT_JSON_FILE, type RecordedInventory } from '../../record/run-files.js';
import { withoutEnvValues } from '../../record/secrets-at-rest.js';
import { lockStateDir, requireCurrentRun } from '../../run/session.js';
import { TARGET_DATA_ROOT_NOTE } from '../../steps/undo-handlers.js';
import type { RunStore } from '../../state/run-store.js';
import type { CommandContext } from '../../run/command-context.js';
import { inquirerPrompter } from '../prompter.js';
import { confirmPlan } from '../wizard.js';
import { canPrompt } from './run.js';

/**
 * `finalize [--yes]`: after a run that verified clean, deletes what was kept for rollback (the
 * old data-root, the archives) and, for a host that was on direct-lvm, offers to remove the old
 * thin pool. Says how much space it frees. Rollback is no longer possible afterwards.
 */
export async function finalizeCommand(cli: CommandContext, options: Record<string, unknown>): Promise<number> {
  const lock = await lockStateDir(cli, 'finalize');
  try {
    const store = await requireCurrentRun(cli, 'finalize');
    const afterRollback = store.state.status === 'rolled-back';
    if (!afterRollback) await requireCleanRun(store);
    const host = new NodeHost(cli.options.hostRoot);
    const targets = afterRollback ? await rollbackLeftovers(host, store) : await deletionTargets(store);
    if (afterRollback && targets.length === 0) {
      cli.stdout(`Run ${store.runId} was rolled back and left nothing behind to delete.\n`);
      return ExitCode.ok;
    }
    const sizes = await Promise.all(targets.map((t) => allocatedBytes(host, t)));
    const total = sizes.reduce((a, b) => a + b, 0);
    // After a rollback the old pool is the one in use again: never offered for removal.
    const pool = afterRollback ? undefined : await oldThinPool(store);
    const lines = ['Finalize deletes:', ...targets.map((t, i) => `  ${t} (${formatBytes(sizes[i]!)})`), `  the containers' environment values in ${store.path(INVENTORY_FILE)} (their names stay)`];
    cli.stdout([...lines, ...(pool ? [`and offers to remove the old thin pool ${pool}`] : [])].join('\n') + '\n');
    if (!options.yes) {
      if (!canPrompt(cli)) throw new UsageError('Finalize needs a confirmation, and there is no terminal to ask on.', 'Run `devmapper-migrate finalize --yes`.');
      const question = afterRollback
        ? `Delete what the rolled-back run left behind (${formatBytes(total)})? The host as it runs now is not touched.`
        : `Delete these backups (${formatBytes(total)})? Rollback will no longer be possible.`;
      if (!(await confirmPlan(inquirerPrompter(), question))) {
        cli.stderr('Finalize not started: nothing was deleted.\n');
        return ExitCode.needsOperator;
      }
    }
    for (const target of targets) await removeTree(host, target);
    await removeSecretsAtRest(store);
    if (afterRollback) {
      cli.stdout(`Cleaned up after rolled-back run ${store.runId}: freed ${formatBytes(total)}.\n`);
      return ExitCode.ok;
    }
    let poolNote = '';
    if (pool && (options.yes || (canPrompt(cli) && (await confirmPlan(inquirerPrompter(), `Remove the old thin pool ${pool} (its data is no longer used)?`))))) {
      const result = await host.run('lvremove', ['-y', pool], { timeoutMs: 120_000 });
      poolNote = result.exitCode === 0 ? ` The old thin pool ${pool} was removed.` : ` The old thin pool ${pool} could not be removed (${result.stderr.trim()}); remove it by hand with \`lvremove ${pool}\`.`;
    }
    await store.setStatus('finalized');
    cli.stdout(`Finalized run ${store.runId}: freed ${formatBytes(total)}.${poolNote}\n`);
    return ExitCode.ok;
  } finally {
    await lock.release();
  }
}

/** What a rolled-back run still holds on disk: its archives and the target's data-root kept aside. */
async function rollbackLeftovers(host: Host, store: RunStore): Promise<string[]> {
  const kept = store.state.notes[TARGET_DATA_ROOT_NOTE];
  const candidates = [...(await archiveDirectories(store)), ...(typeof kept === 'string' ? [kept] : [])];
  const present = await Promise.all(candidates.map(async (target) => ((await host.stat(target)) ? target : undefined)));
  return present.filter((target): target is string => target !== undefined);
}

async function requireCleanRun(store: RunStore): Promise<void> {
  if (store.state.status !== 'completed') {
    throw new OperatorError(`Run ${store.runId} is ${store.state.status}, not completed: there is nothing to finalize.`, 'Finalize follows a completed run that verified clean (see `devmapper-migrate status`).');
  }
  const report = await store.readJson<{ differences?: number }>(REPORT_JSON_FILE);
  if (!report || report.differences !== 0) {
    throw new OperatorError(
      `Run ${store.runId} has not verified clean${report ? ` (${report.differences} difference(s) in report.json)` : ' (no report.json)'}.`,
      'Run `devmapper-migrate verify` and resolve what it names, or roll back.',
    );
  }
}

/** The kept data-root and the archive directories of the run. */
async function deletionTargets(store: RunStore): Promise<string[]> {
  const kept = store.state.journal.find((e) => e.kind === 'kept-data-root' && !e.undoneAt)?.data.keptPath;
  return [...(typeof kept === 'string' ? [kept] : []), ...(await archiveDirectories(store))];
}

/**
 * Where the run's image, volume, layer and data-root archives went, and config-backup/: it holds
 * the configuration files verbatim (proxy passwords too), kept only while rollback may need it.
 */
async function archiveDirectories(store: RunStore): Promise<string[]> {
  const answers = await store.readJson<ResolvedAnswers>(ANSWERS_FILE);
  const base = answers ? archiveBaseDir(answers.backup.directory, store.stateDir, store.runId) : store.runDir;
  return [...['images', 'volumes', 'layers', 'data-root'].map((kind) => path.join(base, kind)), store.path('config-backup')];
}

/** The containers' environment values leave inventory.json (they often hold passwords); the names stay for verify. */
async function removeSecretsAtRest(store: RunStore): Promise<void> {
  const recorded = await store.readJson<RecordedInventory>(INVENTORY_FILE);
  if (recorded) await store.writeJson(INVENTORY_FILE, withoutEnvValues(recorded));
}

/** "vg/lv" of the thin pool the host used before, when it was a direct-lvm pool (a loop-lvm pool lives in the kept data-root). */
async function oldThinPool(store: RunStore): Promise<string | undefined> {
  const recorded = await store.readJson<RecordedInventory>(INVENTORY_FILE);
  const daemon: DaemonFacts | undefined = recorded?.inventory.daemon;
  if (daemon?.driver !== 'devicemapper') return undefined;
  const state = poolState(daemon);
  const names = state.mode === 'direct-lvm' && state.poolName ? splitDmName(state.poolName) : undefined;
  return names ? `${names.vg}/${names.lv}` : undefined;
}

async function allocatedBytes(host: Host, target: string): Promise<number> {
  if (!(await host.stat(target))) return 0;
  const result = await host.run('du', ['-sk', '--one-file-system', target], { timeoutMs: 600_000 });
  return Number(/^(\d+)/.exec(result.stdout)?.[1] ?? 0) * 1024;
}

async function removeTree(host: Host, target: string): Promise<void> {
  if (!(await host.stat(target))) return;
  const result = await host.run('rm', ['-rf', '--one-file-system', '--', target], { timeoutMs: 3_600_000 });
  if (result.exitCode !== 0) throw new OperatorError(`Could not delete ${target}: ${result.stderr.trim()}`, `Delete it by hand (rm -rf ${target}), then run finalize again.`);
}
