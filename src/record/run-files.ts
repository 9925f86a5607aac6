/**
 * The documents a run keeps in its directory (docs/contract.md "Files"), as types: what the steps
 * write, and what `verify`, `status`, `resume` and `rollback` read back in a later process.
 * Plain JSON-serialisable data and path arithmetic; nothing here does I/O.
 */
import path from 'node:path';
import type { ContainerInspect } from '../docker/create-spec.js';
import type { Inventory } from '../docker/types.js';

export const INVENTORY_FILE = 'inventory.json';
export const ANSWERS_FILE = 'answers.json';
export const PLAN_FILE = 'plan.json';
export const VOLUME_TREES_FILE = 'volume-trees.json';
/** The volumes' files as restored, read before the containers start (they may write at once). */
export const RESTORED_VOLUME_TREES_FILE = 'volume-trees-restored.json';
export const REPORT_JSON_FILE = 'report.json';
export const REPORT_TEXT_FILE = 'report.txt';
export const RUN_LOG_FILE = 'run.log';

/**
 * Where a run's archives go: its own directory in the state dir, or
 * `<backup.directory>/runs/<run-id>/` when the answers name another place.
 */
export function archiveBaseDir(backupDirectory: string, stateDir: string, runId: string): string {
  const runs = path.resolve(backupDirectory) === path.resolve(stateDir) ? stateDir : backupDirectory;
  return path.join(runs, 'runs', runId);
}

/** `inventory.json`: the host as it was when the run started, and what the run carries. */
export interface RecordedInventory {
  /** The whole host at the start of the run (every image, container, volume, network). */
  inventory: Inventory;
  /** What the run carries over: image IDs, container names, volume names, network names. */
  selection: { images: string[]; containers: string[]; volumes: string[]; networks: string[] };
  /** The full `GET /containers/{id}/json` of every included container: restore's input. */
  inspects: ContainerInspect[];
}

/** Where the run stands for verify: which driver the host must be on now. */
export interface VerifyExpectation {
  /** "overlay2" after a run to overlay2, "devicemapper" after direct-lvm, the source driver after a rollback. */
  driver: string;
  /** After a run (not a rollback): no devicemapper driver, dm.* option or storage flag may be left in the configuration. */
  configMustBeClean: boolean;
}
