/**
 * Volumes: recreate one from its inventory record, idempotently. A volume carried over with
 * the data-root already exists and is accepted when it matches the record.
 */
import type Docker from 'dockerode';
import { OperatorError } from '../errors.js';
import type { VolumeRecord } from './types.js';

const entries = (map: Record<string, string> | null | undefined) =>
  JSON.stringify(Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)));

interface VolumeInspect {
  Name: string;
  Driver: string;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** The volume named `name`, or undefined when the daemon has none. */
async function findVolume(client: Docker, name: string): Promise<VolumeInspect | undefined> {
  try {
    return (await client.getVolume(name).inspect()) as VolumeInspect;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Creates a volume with the recorded driver, options and labels and returns its name. An
 * existing identical volume (e.g. carried over with the data-root) is taken as is; a different
 * one under the same name is an OperatorError naming the differences.
 */
export async function createVolume(client: Docker, record: VolumeRecord): Promise<string> {
  const existing = await findVolume(client, record.name);
  if (existing) {
    const diff: string[] = [];
    if (existing.Driver !== record.driver) diff.push(`driver ${existing.Driver} (wanted ${record.driver})`);
    if (entries(existing.Options) !== entries(record.options)) diff.push(`options ${entries(existing.Options)} (wanted ${entries(record.options)})`);
    if (entries(existing.Labels) !== entries(record.labels)) diff.push(`labels ${entries(existing.Labels)} (wanted ${entries(record.labels)})`);
    if (!diff.length) return existing.Name;
    throw new OperatorError(
      `Volume ${record.name} already exists on this daemon with a different configuration: ${diff.join('; ')}.`,
      `Move its data aside and remove it (docker volume rm ${record.name}) so it can be recreated as it was, then resume.`,
    );
  }
  const created = await client.createVolume({
    Name: record.name,
    Driver: record.driver,
    DriverOpts: { ...record.options },
    Labels: { ...record.labels },
  });
  return created.name;
}
