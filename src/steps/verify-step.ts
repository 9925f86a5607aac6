import type { MigrationContext } from '../run/context.js';
import { VOLUME_TREES_FILE } from '../run/run-files.js';
import { verifyHost, writeVerifyReport, type RecordedVolumeTrees } from '../verify/index.js';
import type { Step } from './step.js';

/** The run's last step: the host compared with the inventory; report.json and report.txt written. */
export const verifyStep: Step<MigrationContext> = {
  id: 'verify',
  title: 'Verify the host against the inventory',
  phase: 'verify',
  async run(ctx, progress) {
    const result = await verifyHost({
      client: await ctx.docker(),
      host: ctx.host,
      recorded: ctx.recorded,
      volumeTrees: await ctx.store.readJson<RecordedVolumeTrees>(VOLUME_TREES_FILE),
      expect: { driver: ctx.daemon.targetDriver, configMustBeClean: true },
      daemonConfigPath: ctx.daemon.configPath,
    });
    await writeVerifyReport(ctx.store.runDir, result);
    await ctx.store.setNote('verifyDifferences', result.differences);
    progress.say(result.differences ? `${result.differences} difference(s): see ${ctx.store.path('report.txt')}` : 'The host matches the inventory');
  },
};
