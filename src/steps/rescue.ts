/**
 * Rescue mode (answers `source.dockerd`): the installed engine (v25+) cannot read the
 * devicemapper data, so the run reads it through a legacy dockerd of the operator's, started by
 * the run as a side daemon on the old data-root (src/host/side-daemon.ts). Everything up to the
 * stop-daemon step talks to that side daemon's socket; stop-daemon stops it; from then on the
 * run talks to the installed engine, which starts on overlay2.
 *
 * What the steps need of it lives here: the run's note, which socket a step talks to, the side
 * daemon's stop (by its pid file), and its undo.
 */
import { daemonAnswers } from '../docker/daemon-status.js';
import type { Host } from '../host/host.js';
import { sideDaemonLayout, stopSideDaemon, type SideDaemonSpec } from '../host/side-daemon.js';
import type { RunStore } from '../state/run-store.js';

/** The state file's note of a rescue-mode run. */
export const RESCUE_NOTE = 'rescue';

/** The journal kind of the side daemon's start (undo: stop it by its pid file, remove its directory). */
export const STARTED_SIDE_DAEMON = 'started-side-daemon';

export interface RescueNote {
  /** The side daemon as started: the legacy dockerd on the old data-root. */
  spec: SideDaemonSpec;
  /** Its socket, `unix://…/docker.sock`. */
  dockerHost: string;
  /** The legacy engine's version (`dockerd --version`), e.g. "20.10.24". */
  legacyVersion: string;
  /** The installed engine: what it said to `dockerd --version`, and whether it was running (on an empty store) when the run began. */
  installed: { path?: string; version?: string; wasRunning: boolean };
}

/** The rescue note of a run, or undefined for an ordinary run. */
export function rescueOf(store: Pick<RunStore, 'state'>): RescueNote | undefined {
  return store.state.notes[RESCUE_NOTE] as RescueNote | undefined;
}

/** True while the side daemon serves the run: its steps before stop-daemon (and their undos). */
export function sideDaemonServes(store: Pick<RunStore, 'state'>): boolean {
  if (!rescueOf(store)) return false;
  const stop = store.state.steps.find((step) => step.id === 'stop-daemon');
  return stop?.status !== 'done' && !store.state.journal.some((entry) => entry.kind === 'stopped-daemon' && entry.stepId === 'stop-daemon' && entry.data.side === true);
}

/**
 * Which Docker socket the run talks to now: the side daemon's until stop-daemon stopped it,
 * the installed engine's after.
 */
export function runDockerHost(store: Pick<RunStore, 'state'>, installedDockerHost: string): () => string {
  return () => (sideDaemonServes(store) ? rescueOf(store)!.dockerHost : installedDockerHost);
}

/**
 * Stops the side daemon (when it runs) and removes its directory. dockerd without live-restore
 * stops every container at its shutdown, and its containerd namespace goes with its containerd:
 * nothing of the legacy engine outlives this.
 */
export async function stopRescueDaemon(host: Host, rescue: RescueNote, timeoutSeconds: number, say?: (line: string) => void): Promise<void> {
  await stopSideDaemon(host, rescue.spec, {
    timeoutSeconds,
    answers: () => daemonAnswers(rescue.dockerHost, 1_000),
    say,
  });
  const { dir } = sideDaemonLayout(rescue.spec);
  const removed = await host.run('rm', ['-rf', '--one-file-system', '--', dir], { timeoutMs: 60_000 });
  if (removed.exitCode !== 0) throw new Error(`could not remove ${dir}: ${removed.stderr.trim()}`);
  // The run's runtime directory, when nothing else is left in it.
  if ((await host.listDir(rescue.spec.runtimeDir))?.length === 0) await host.rmdir(rescue.spec.runtimeDir);
}

/**
 * What a rolled-back rescue-mode run leaves, in the operator's words: the data back in place,
 * the installed engine as it was (not started: it cannot start on devicemapper), and the two
 * ways on. docs/contract.md, "Rescue mode", says the same.
 */
export function rescueRollbackWords(runId: string, rescue: RescueNote, place: { dataRoot: string; configPath: string }): string {
  const installed = rescue.installed.version ? `Docker ${rescue.installed.version}${rescue.installed.path ? ` (${rescue.installed.path})` : ''}` : 'The installed engine';
  const before = rescue.installed.wasRunning
    ? 'it ran on an empty overlay2 beside the devicemapper data when the run began and was stopped by the run; it is not started again, as it would show that empty store, not your images and containers'
    : 'it did not start when the run began, and it is not started now: it cannot start on devicemapper';
  return [
    `Run ${runId} (rescue mode) is rolled back: the data is back in place. ${place.dataRoot} holds the devicemapper data again and ${place.configPath} is as it was before the run.`,
    `${installed} was left as it was: ${before}. No Docker daemon runs on this host now, and the legacy dockerd ${rescue.spec.dockerd} (${rescue.legacyVersion}) was stopped.`,
    'Two ways on:',
    `  1. Install an engine older than 25 (the one this host ran before, e.g. ${rescue.legacyVersion}; at most 24.x) and hold it there, then start Docker: everything is there as before the run. Migrate then with \`devmapper-migrate run\`, and upgrade after.`,
    `  2. Or run again in rescue mode: \`devmapper-migrate run --answers FILE\` with \`source.dockerd: ${rescue.spec.dockerd}\` in the answers.`,
  ].join('\n');
}
