/**
 * Pre-staging (issue 20): whether a run loads its images into the target data-root before the
 * stop, through a private dockerd of the host's own engine, or falls back to loading them after
 * Docker restarts, inside the downtime. Pure: the facts are read by the caller.
 */

/** A run that pre-stages: where, and with which dockerd. */
export interface StagingPlan {
  /** The serving dockerd's own program. */
  dockerd: string;
  /** The staged data-root, on the data-root's filesystem: the cutover renames it into place. */
  stagedRoot: string;
  /** The side daemon's runtime directory (socket, exec-root, pid file, log): <base>/<run-id>. */
  runtimeDir: string;
  /** The private daemon's start and stop commands as run.log shows them (with the flags its engine knows). */
  commands?: { start: string; stop: string };
}

export type StagingDecision = ({ staged: true } & StagingPlan) | { staged: false; reason: string };

export interface StagingInput {
  answer: 'auto' | 'on' | 'off';
  /** Rescue mode (source.dockerd): the installed engine cannot run before the cutover. */
  rescue?: boolean;
  target: 'overlay2' | 'direct-lvm';
  /** Staging loads the saved archives: a push-only run has none before the stop. */
  imagesSaved: boolean;
  imageCount: number;
  /** The serving dockerd's program, when it could be found. */
  dockerd?: string;
  /** The data-root as the daemon names it, with symlinks resolved. */
  dataRoot: string;
  /** The data-root is a mount point: the staged root goes inside it (a rename never leaves a filesystem). */
  dataRootIsMountPoint: boolean;
  /** Free bytes on the data-root's filesystem, when known, and the bytes the images take in a driver. */
  freeBytes?: number;
  layersBytes: number;
  /** What the loads hold besides, while the daemon unpacks their archives (SizeEstimate.loadScratchBytes). */
  loadScratchBytes: number;
  runId: string;
  /** Where side daemons' runtime directories go (/run/devmapper-migrate in production). */
  runtimeBase: string;
}

export const STAGING_OFF_REASON = 'staging: off in the answers';

/** The staged data-root: beside the data-root, or inside it when it is a mount point (the names keep-data-root leaves in place). */
export function stagedRootPath(dataRoot: string, runId: string, inside: boolean): string {
  return inside ? `${dataRoot}/.devmapper-migrate-${runId}-staged` : `${dataRoot}.devmapper-migrate-${runId}-staged`;
}

/** Where the run stages its images, or why it cannot (then the run loads them inside the downtime, as without staging). */
export function decideStaging(input: StagingInput): StagingDecision {
  const refused = (reason: string): StagingDecision => ({ staged: false, reason });
  if (input.answer === 'off') return refused(STAGING_OFF_REASON);
  if (input.rescue) return refused('rescue mode: the installed engine cannot run before the cutover, and the legacy dockerd is not the engine the images go to');
  if (input.target !== 'overlay2') return refused('the direct-lvm thin pool is only built at the cutover, so there is nothing to stage the images into before the stop');
  if (!input.imagesSaved) return refused('images.save is off: staging loads the saved image archives, and a pushed image is only pulled back after the cutover');
  if (input.imageCount === 0) return refused('there are no images to load');
  if (!input.dockerd) return refused('the serving dockerd’s program was not found (no running dockerd process to read it from)');
  if (input.freeBytes !== undefined && input.freeBytes < input.layersBytes + input.loadScratchBytes) {
    return refused(
      `the data-root’s filesystem has ${gib(input.freeBytes)} free and, while the old data-root is still in use, a second copy of the images ` +
        `needs about ${gib(input.layersBytes)} and their loads ${gib(input.loadScratchBytes)} more (the daemon unpacks each archive before it applies it)`,
    );
  }
  return {
    staged: true,
    dockerd: input.dockerd,
    stagedRoot: stagedRootPath(input.dataRoot, input.runId, input.dataRootIsMountPoint),
    runtimeDir: `${input.runtimeBase}/${input.runId}`,
  };
}

/** The plan's note on staging, either way: what the run does, or why it does not and what instead. */
export function stagingNote(decision: StagingDecision): string {
  if (decision.staged) return `pre-staging: the images are loaded into ${decision.stagedRoot} by a private dockerd (${decision.dockerd}) before the containers stop; the cutover renames it into place`;
  return `pre-staging is not done (${decision.reason}): the images are loaded after Docker restarts, inside the downtime`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
