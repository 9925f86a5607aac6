import { ExitCode } from '../../errors.js';
import { collectPreflightFacts } from '../../facts/collect.js';
import { NodeHost } from '../../host/node-host.js';
import { factsSummaryRows } from '../../preflight/facts-summary.js';
import { preflightChecks, resolvePreflightOptions } from '../../preflight/index.js';
import { formatEntriesText, formatJson, formatRows, formatSummaryLine, summarizeEntries } from '../../report/format.js';
import { blockerRemedy } from '../../preflight/waivers.js';
import type { ReportEntry } from '../../report/entry.js';
import type { CommandContext } from '../context.js';

/**
 * `preflight [--json]`: reads facts (changes nothing), judges them, prints the report.
 * Exit 1 when a blocker is found. Without an answers file the defaults apply (target overlay2,
 * archives in the state directory).
 */
export async function preflightCommand(ctx: CommandContext, _options: Record<string, unknown>): Promise<number> {
  const options = resolvePreflightOptions({
    backupDirectory: ctx.options.stateDir,
    daemonConfigPath: ctx.options.daemonConfig,
  });
  const host = new NodeHost(ctx.options.hostRoot);
  const facts = await collectPreflightFacts(host, {
    dockerHost: ctx.options.dockerHost,
    daemonConfigPath: options.daemonConfigPath,
    backupDirectory: options.backupDirectory,
    stateDirectory: ctx.options.stateDir,
    targetDevice: options.target === 'direct-lvm' ? options.device : undefined,
  });
  const entries = preflightChecks(facts, options);
  const summary = summarizeEntries(entries);

  if (ctx.options.json) {
    ctx.stdout(formatJson({ facts, options, entries, summary }));
  } else {
    ctx.stdout(formatRows(factsSummaryRows(facts, options)));
    ctx.stdout('\n');
    ctx.stdout(formatEntriesText(entries, { color: ctx.options.color && process.stdout.isTTY === true }));
    ctx.stdout(`${formatSummaryLine(summary)}${blockersNote(entries)}\n`);
  }
  return summary.blockers > 0 ? ExitCode.findings : ExitCode.ok;
}

/** After the summary: what blockers mean for a run (it refuses to start; some may be overridden). */
export function blockersNote(entries: readonly ReportEntry[]): string {
  const blockers = entries.filter((e) => e.severity === 'blocker');
  return blockers.length > 0 ? ` The run will not start while they remain. ${blockerRemedy(blockers)}` : '';
}
