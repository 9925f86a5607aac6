import { ExitCode, UsageError } from '../../errors.js';
import { collectPreflightFacts } from '../../facts/collect.js';
import { NodeHost } from '../../host/node-host.js';
import { engineVersion, NEWEST_KNOWN_ENGINE } from '../../preflight/engine-removals.js';
import { factsSummaryRows } from '../../preflight/facts-summary.js';
import { preflightChecks, resolvePreflightOptions } from '../../preflight/index.js';
import { formatEntriesText, formatJson, formatRows, formatSummaryLine, summarizeEntries } from '../../report/format.js';
import { blockerRemedy } from '../../preflight/waivers.js';
import type { ReportEntry } from '../../report/entry.js';
import type { CommandContext } from '../../run/command-context.js';

/**
 * `preflight [--json] [--target-engine VERSION]`: reads facts (changes nothing), judges them,
 * prints the report. Exit 1 when a blocker is found, a daemon that does not answer included (the
 * report then rests on the host's files). Without an answers file the defaults apply (target
 * overlay2, archives in the state directory).
 */
export async function preflightCommand(ctx: CommandContext, commandOptions: Record<string, unknown>): Promise<number> {
  const options = resolvePreflightOptions({
    backupDirectory: ctx.options.stateDir,
    daemonConfigPath: ctx.options.daemonConfig,
    targetEngine: targetEngineOption(commandOptions.targetEngine),
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

/** --target-engine: a release such as "25", "26.1" or "27.0.3"; default NEWEST_KNOWN_ENGINE. */
function targetEngineOption(value: unknown): string {
  if (value === undefined) return NEWEST_KNOWN_ENGINE;
  const text = String(value).trim();
  const version = engineVersion(text);
  if (!version || !/^v?\d+(\.\d+){0,2}$/.test(text)) {
    throw new UsageError(`--target-engine "${text}" is not an Engine release.`, `Give a version such as 25.0, 26.1 or ${NEWEST_KNOWN_ENGINE}.`);
  }
  return `${version[0]}.${version[1]}`;
}

/** After the summary: what blockers mean for a run (it refuses to start; some may be overridden). */
export function blockersNote(entries: readonly ReportEntry[]): string {
  const blockers = entries.filter((e) => e.severity === 'blocker');
  return blockers.length > 0 ? ` The run will not start while they remain. ${blockerRemedy(blockers)}` : '';
}
