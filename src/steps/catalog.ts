/** Every step a run can have, by the id the plan gives it (src/plan/plan.ts). */
import type { MigrationContext } from './context.js';
import { INVENTORY_FILE } from '../record/run-files.js';
import { carryVolumesStep, keepDataRootStep, rewriteConfigStep, startDaemonStep, stopDaemonStep } from './cutover.js';
import { pushImagesStep, saveImagesStep } from './export.js';
import { archiveVolumesStep, recordVolumesStep, saveWritableLayersStep, stopContainersStep } from './quiesce.js';
import { createContainersStep, createNetworksStep, createVolumesStep, loadImagesStep, startContainersStep } from './restore.js';
import type { Step } from './step.js';
import { buildThinPoolStep } from './thin-pool.js';
import { placeStagedRootStep, stageImagesStep } from './staging.js';
import { checkVolumesStep, verifyStep } from './verify-step.js';

/**
 * The inventory was taken, and written as the run's inventory.json, when the run was created;
 * this step says what it holds (and writes it for a run that lacks it: never overwritten).
 */
const recordInventoryStep: Step<MigrationContext> = {
  id: 'record-inventory',
  title: 'Record the inventory',
  phase: 'preflight',
  async run(ctx, progress) {
    if ((await ctx.store.readJson(INVENTORY_FILE)) === undefined) await ctx.store.writeJson(INVENTORY_FILE, ctx.recorded);
    const { selection } = ctx.recorded;
    progress.say(`${selection.images.length} image(s), ${selection.containers.length} container(s), ${selection.volumes.length} volume(s), ${selection.networks.length} network(s)`);
  },
};

const STEPS: readonly Step<MigrationContext>[] = [
  recordInventoryStep,
  saveImagesStep,
  pushImagesStep,
  stageImagesStep,
  stopContainersStep,
  saveWritableLayersStep,
  recordVolumesStep,
  archiveVolumesStep,
  stopDaemonStep,
  keepDataRootStep,
  placeStagedRootStep,
  carryVolumesStep,
  rewriteConfigStep,
  buildThinPoolStep,
  startDaemonStep,
  loadImagesStep,
  createNetworksStep,
  createVolumesStep,
  createContainersStep,
  checkVolumesStep,
  startContainersStep,
  verifyStep,
];

/** The step implementation for a planned step id. */
export function stepById(id: string): Step<MigrationContext> {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new Error(`no step is implemented for "${id}"`);
  return step;
}
