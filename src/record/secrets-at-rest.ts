/**
 * Secrets the run must keep until it is finalized: the containers' environment in
 * inventory.json (restore recreates them from it) and the verbatim configuration files in
 * config-backup/ (rollback writes them back). Both stay in the private run directory (0700,
 * files 0600) while the run can be resumed or rolled back; finalize deletes config-backup/ and
 * removes the values from inventory.json. Pure.
 */
import type { RecordedInventory } from './run-files.js';

/** What an environment variable's value reads as in inventory.json after finalize. */
export const ENV_VALUE_REMOVED = '<removed by finalize>';

/** The recorded inventory with every container environment value replaced by ENV_VALUE_REMOVED (the names stay, for verify). */
export function withoutEnvValues(recorded: RecordedInventory): RecordedInventory {
  return {
    ...recorded,
    inspects: recorded.inspects.map((inspect) => {
      const env = inspect.Config?.Env;
      if (!env) return inspect;
      const names = env.map((entry) => (entry.includes('=') ? `${entry.slice(0, entry.indexOf('='))}=${ENV_VALUE_REMOVED}` : entry));
      return { ...inspect, Config: { ...inspect.Config, Env: names } };
    }),
  };
}
