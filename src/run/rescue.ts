/**
 * Rescue mode's start (docs/contract.md, "Rescue mode"): before `run` reads the inventory, the
 * legacy dockerd named by `source.dockerd` is checked (it exists, is executable, is older than
 * 25), the installed engine is stopped if it runs (on an empty store beside the data: two
 * daemons never share a data-root), and the legacy dockerd is started as a side daemon on the
 * old data-root with the host's devicemapper storage options. It must say Driver devicemapper
 * and Root Dir the data-root, or it is stopped again and the run refuses.
 */
import { OperatorError } from '../errors.js';
import { daemonAnswers } from '../docker/daemon-status.js';
import { openDockerDoors } from '../docker/doors.js';
import type { PreflightFacts } from '../facts/types.js';
import type { Host } from '../host/host.js';
import { DaemonStartError, startDocker, stopDocker, type ServiceManager } from '../host/service-manager.js';
import { sideDaemonLayout, startSideDaemon, type SideDaemonSpec } from '../host/side-daemon.js';
import { analyse, parseVersion } from '../preflight/analysis.js';
import { resolvePreflightOptions } from '../preflight/options.js';
import { stopRescueDaemon, type RescueNote } from '../steps/rescue.js';

/** The legacy engine's version, or an OperatorError saying what is wrong with the binary (nothing was changed yet). */
export async function checkLegacyDockerd(host: Host, dockerd: string): Promise<string> {
  const refuse = (why: string, remedy: string) =>
    new OperatorError(`source.dockerd ${dockerd} ${why}. Nothing was changed.`, remedy);
  const stat = await host.stat(dockerd);
  const file = stat?.kind === 'symlink' ? await host.stat((await host.realpath(dockerd)) ?? dockerd) : stat;
  if (!file) throw refuse('does not exist', 'Give the path of a dockerd binary older than 25 (e.g. unpacked from the old package with `dpkg -x` or `rpm2cpio … | cpio -idm`).');
  if (file.kind !== 'file' || (file.mode & 0o111) === 0) throw refuse('is not an executable file', `Make it executable (chmod 0755 ${dockerd}) or name the dockerd binary itself.`);
  const result = await host.run(dockerd, ['--version'], { timeoutMs: 60_000 });
  const version = result.exitCode === 0 ? parseVersion(result.stdout) : undefined;
  if (!version) {
    throw refuse(`does not say its version (\`${dockerd} --version\` exited ${result.exitCode}: ${(result.stderr || result.stdout).trim().slice(0, 300)})`, 'Name a dockerd binary that runs on this host (its libraries, containerd and runc must be there).');
  }
  if (version.major >= 25) {
    throw refuse(`is Docker ${version.raw}, which cannot read devicemapper either (Engine v25 removed it)`, 'Name a dockerd older than 25: the one this host ran before is best (e.g. 20.10.x, 23.x or 24.x).');
  }
  return version.raw;
}

/**
 * The storage options devicemapper ran with, as the existing code reads them: daemon.json's
 * storage-opts, then the active dockerd flags (unit, drop-ins, RHEL sysconfig, command line).
 */
export function devicemapperStorageOpts(facts: PreflightFacts): string[] {
  const analysis = analyse(facts, resolvePreflightOptions());
  const fromFlags = analysis.places.filter((place) => place.active).flatMap((place) => place.flags.filter((f) => f.setting === 'storage-opts').map((f) => f.value));
  return [...analysis.daemonJson.storage.storageOpts, ...fromFlags].filter((opt) => opt.startsWith('dm.'));
}

export interface RescueStart {
  runId: string;
  runtimeDir: string;
  dockerd: string;
  legacyVersion: string;
  dataRoot: string;
  storageOpts: string[];
  /** The installed engine's docker host and how it is stopped and started. */
  installedDockerHost: string;
  installedService: ServiceManager;
  installedPidFile: string;
  installed: { path?: string; version?: string };
  timeoutSeconds: number;
  say: (line: string) => void;
}

/** A started rescue: its note for the state file, and the way to undo it before the run exists. */
export interface StartedRescue {
  note: RescueNote;
  /** Stops the side daemon and starts the installed engine again if the rescue stopped it (a run that did not start). */
  abandon(): Promise<void>;
}

/** Stops the installed engine if it runs, then starts the side daemon and checks what it reads. */
export async function startRescue(host: Host, start: RescueStart): Promise<StartedRescue> {
  const wasRunning = await daemonAnswers(start.installedDockerHost, 2_000);
  if (wasRunning) {
    start.say(`The installed engine runs on ${start.dataRoot} without the devicemapper data: stopping it first (two daemons never share a data-root)`);
    await stopDocker(host, start.installedService, {
      timeoutSeconds: start.timeoutSeconds,
      answers: () => daemonAnswers(start.installedDockerHost, 1_000),
      pidFile: start.installedPidFile,
      say: start.say,
    });
  }
  const spec: SideDaemonSpec = {
    name: 'source',
    runId: start.runId,
    runtimeDir: `${start.runtimeDir}/${start.runId}`,
    dockerd: start.dockerd,
    dataRoot: start.dataRoot,
    storageDriver: 'devicemapper',
    storageOpts: start.storageOpts,
  };
  const note: RescueNote = {
    spec,
    dockerHost: sideDaemonLayout(spec).dockerHost,
    legacyVersion: start.legacyVersion,
    installed: { ...start.installed, wasRunning },
  };
  const abandon = async () => {
    await stopRescueDaemon(host, note, start.timeoutSeconds, start.say);
    if (wasRunning) {
      await startDocker(host, start.installedService, { timeoutSeconds: start.timeoutSeconds, ping: () => daemonAnswers(start.installedDockerHost, 2_000), pidFile: start.installedPidFile, say: start.say });
    }
  };
  try {
    start.say(`Starting the legacy dockerd ${start.legacyVersion} (${start.dockerd}) on ${start.dataRoot} at ${note.dockerHost}…`);
    await startSideDaemon(host, spec, { timeoutSeconds: start.timeoutSeconds, ping: () => daemonAnswers(note.dockerHost, 2_000), say: start.say });
    const facts = await (await openDockerDoors(note.dockerHost)).system.facts();
    if (facts.driver !== 'devicemapper' || facts.dockerRootDir !== start.dataRoot) {
      throw new OperatorError(
        `The legacy dockerd ${start.dockerd} started on ${facts.driver} with Root Dir ${facts.dockerRootDir}, not on devicemapper in ${start.dataRoot}.`,
        `Nothing of the data was changed. Check the storage settings (daemon.json storage-opts, dockerd's --storage-opt flags) and that ${start.dataRoot}/devicemapper holds the pool.`,
      );
    }
  } catch (error) {
    await abandon().catch((stopError: unknown) => start.say(`Could not stop the legacy dockerd again: ${(stopError as Error).message}`));
    if (error instanceof DaemonStartError) {
      throw new OperatorError(
        `The legacy dockerd ${start.dockerd} (${start.legacyVersion}) did not start on ${start.dataRoot}: ${error.message}${error.logLines.length ? `\nIts last log lines:\n${error.logLines.map((l) => `  ${l}`).join('\n')}` : ''}`,
        `Nothing of the data was changed${wasRunning ? ' and the installed engine was started again' : ''}. Check that this dockerd runs on this host (containerd and runc it can use) and reads the storage options of daemon.json.`,
      );
    }
    throw error;
  }
  return { note, abandon };
}

/**
 * resume of a rescue-mode run whose side daemon should serve (a step before stop-daemon is left)
 * but does not answer (a reboot, a kill): started again as it was, from the run's note.
 */
export async function ensureRescueDaemon(host: Host, rescue: RescueNote, timeoutSeconds: number, say: (line: string) => void): Promise<void> {
  if (await daemonAnswers(rescue.dockerHost, 2_000)) return;
  say(`Starting the legacy dockerd ${rescue.legacyVersion} (${rescue.spec.dockerd}) again on ${rescue.spec.dataRoot}: the run's export steps read through it`);
  await startSideDaemon(host, rescue.spec, { timeoutSeconds, ping: () => daemonAnswers(rescue.dockerHost, 2_000), say });
}
