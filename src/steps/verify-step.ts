import { gatherPreflightFacts } from '../facts/gather.js';
import { engineReadinessAfterCutover } from '../preflight/index.js';
import type { ReportEntry } from '../report/entry.js';
import type { MigrationContext } from './context.js';
import { selectedContainers } from '../record/selection.js';
import { RESTORED_VOLUME_TREES_FILE, VOLUME_TREES_FILE } from '../record/run-files.js';
import { describeVolumesNow, verifyHost, runCaveats, withCaveats, writeVerifyReport, type CurrentVolumeTrees, type RecordedVolumeTrees } from '../verify/index.js';
import { paramsOf } from './params.js';
import type { Step } from './step.js';

/**
 * Reads the restored volumes' files before the containers start: a database that writes to its
 * volume as soon as it runs must not make the run's own verify fail. Run again on resume (the
 * containers have not started yet when this step is not done).
 */
export const checkVolumesStep: Step<MigrationContext> = {
  id: 'check-volumes',
  title: 'Read the restored volumes’ files before the containers start',
  phase: 'restore',
  async run(ctx, progress) {
    const { volumes } = paramsOf(ctx, 'check-volumes');
    const recordedTrees = await ctx.store.readJson<RecordedVolumeTrees>(VOLUME_TREES_FILE);
    if (!recordedTrees) return progress.say('No volume files were recorded');
    const docker = await ctx.docker();
    const trees = await describeVolumesNow(await docker.system.inventory(), volumes, recordedTrees);
    await ctx.store.writeJson(RESTORED_VOLUME_TREES_FILE, trees);
    progress.say(`Read the files of ${Object.keys(trees).length} volume(s)`);
  },
};

/** The run's last step: the host compared with the inventory; report.json and report.txt written. */
export const verifyStep: Step<MigrationContext> = {
  id: 'verify',
  title: 'Verify the host against the inventory',
  phase: 'verify',
  async run(ctx, progress) {
    const verified = await verifyHost({
      docker: await ctx.docker(),
      host: ctx.host,
      recorded: ctx.recorded,
      volumeTrees: await ctx.store.readJson<RecordedVolumeTrees>(VOLUME_TREES_FILE),
      // The volumes as restored; what the started containers wrote since is theirs. A later
      // `devmapper-migrate verify` reads them as they are then.
      volumeTreesNow: await ctx.store.readJson<CurrentVolumeTrees>(RESTORED_VOLUME_TREES_FILE),
      expect: { driver: ctx.daemon.targetDriver, configMustBeClean: true },
      daemonConfigPath: ctx.daemon.configPath,
    });
    const readiness = await readinessForTargetEngine(ctx);
    const result = withCaveats(verified, [...runCaveats(ctx.store.state, selectedContainers(ctx.recorded)), ...readiness]);
    await writeVerifyReport(ctx.store.runDir, result);
    await ctx.store.setNote('verifyDifferences', result.differences);
    progress.say(result.differences ? `${result.differences} difference(s): see ${ctx.store.path('report.txt')}` : 'The host matches the inventory');
  },
};

/**
 * What the target engine would refuse or drop on the migrated host (preflight's readiness
 * checks, read again now). The host is migrated and verified by then: a check that cannot be
 * made is said in the report, never a failure of the step (which would roll the host back).
 */
async function readinessForTargetEngine(ctx: MigrationContext): Promise<ReportEntry[]> {
  try {
    const inventory = await (await ctx.docker()).system.inventory();
    const facts = await gatherPreflightFacts(ctx.host, { daemon: inventory.daemon, inventory }, {
      dockerHost: ctx.dockerHost,
      daemonConfigPath: ctx.daemon.configPath,
      backupDirectory: ctx.answers.backup.directory,
    });
    return engineReadinessAfterCutover(facts);
  } catch (error) {
    return [
      {
        key: 'engine-readiness-unchecked',
        severity: 'warning',
        title: 'The migrated host was not checked against the target engine',
        summary: `Reading the host for the check failed: ${(error as Error)?.message ?? String(error)}.`,
        remediation: 'Run `devmapper-migrate preflight --target-engine VERSION` before the engine upgrade.',
      },
    ];
  }
}
