/** verify's report: text for people, pretty JSON for automation, and the run's report files. */
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { REPORT_JSON_FILE, REPORT_TEXT_FILE } from '../record/run-files.js';
import { formatEntriesText, formatJson, summarizeEntries, type TextOptions } from '../report/format.js';
import type { VerifyResult } from './types.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The line naming what was looked at: "5 images (9 tags), 6 containers, ...". */
function checkedLine(result: VerifyResult): string {
  const c = result.checked;
  const parts = [
    `${plural(c.images, 'image')} (${plural(c.tags, 'tag')})`,
    plural(c.containers, 'container'),
    plural(c.networks, 'network'),
    `${plural(c.volumes, 'volume')}${c.volumeTrees ? ` (files of ${c.volumeTrees} compared: ${c.volumeEntries} entr${c.volumeEntries === 1 ? 'y' : 'ies'})` : ''}`,
  ];
  if (result.expect.configMustBeClean) parts.push(plural(c.configFiles, 'configuration file'));
  return `Checked ${parts.join(', ')}.`;
}

/** verify's result as text: a verdict, what was checked, the entries (differences first) and a closing line. */
export function formatVerifyText(result: VerifyResult, options: TextOptions = {}): string {
  const verdict =
    result.differences === 0
      ? `The host matches the run's inventory (storage driver ${result.expect.driver}).`
      : `${plural(result.differences, 'difference')} between the host and the run's inventory.`;
  const summary = summarizeEntries(result.entries);
  const closing =
    result.differences === 0
      ? 'No differences.'
      : `${plural(result.differences, 'difference')}${summary.warnings ? `, ${plural(summary.warnings, 'warning')}` : ''}: the host is not as the run recorded it.`;
  return [`Verify (${result.checkedAt}): ${verdict}`, checkedLine(result), '', formatEntriesText(result.entries, options) + closing, ''].join('\n');
}

/** The JSON document of a verify result (report.json and `verify --json`). */
export function verifyJson(result: VerifyResult): string {
  return formatJson({ ...result, summary: summarizeEntries(result.entries) });
}

/** Writes report.json and report.txt into the run directory, atomically, mode 0600. */
export async function writeVerifyReport(runDir: string, result: VerifyResult): Promise<void> {
  await writeFileAtomic(join(runDir, REPORT_JSON_FILE), verifyJson(result), 0o600);
  await writeFileAtomic(join(runDir, REPORT_TEXT_FILE), formatVerifyText(result), 0o600);
}
