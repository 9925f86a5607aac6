/**
 * The storage settings of a host's Docker configuration, as verify judges them: read through
 * preflight's analysis (the same parsing of daemon.json, units, drop-ins and environment
 * files), so verify and preflight never disagree about where a flag hides. Pure.
 */
import { parseEnvironmentFile } from '../config/dockerd-flags.js';
import { STORAGE_SETUP_FILE } from '../config/unit-file-edit.js';
import type { DaemonFacts, Inventory } from '../docker/types.js';
import type { HostFacts } from '../facts/types.js';
import { analyse, describePlace } from '../preflight/analysis.js';
import { resolvePreflightOptions } from '../preflight/options.js';
import type { ConfigState, StorageSetupState } from './compare.js';

/** Probes whose failure leaves part of the configuration unread. */
const CONFIG_PROBES = new Set(['daemon.json', 'systemd units', 'environment files']);

/** ConfigState from gathered host facts (daemon facts and inventory only feed the analysis). */
export function configStateOf(host: HostFacts, docker: { daemon: DaemonFacts; inventory: Inventory }): ConfigState {
  const analysis = analyse(
    { collectedAt: new Date(0).toISOString(), docker, host },
    resolvePreflightOptions({ daemonConfigPath: host.daemonJson.path }),
  );
  const parse = analysis.daemonJson.parse;
  const storage = analysis.daemonJson.storage;
  return {
    daemonJsonPath: analysis.daemonJson.path,
    daemonJsonPresent: analysis.daemonJson.present,
    ...(parse && !parse.ok ? { daemonJsonError: `line ${parse.error.line}, column ${parse.error.column}: ${parse.error.message}` } : {}),
    ...(storage.storageDriver !== undefined ? { storageDriver: storage.storageDriver } : {}),
    storageOpts: storage.storageOpts,
    daemonJsonSetsDataRoot: storage.dataRoot !== undefined,
    // The running command line is not configuration: the daemon's driver is checked through the API.
    places: analysis.places
      .filter((place) => place.kind !== 'cmdline')
      .map((place) => ({
        where: describePlace(place),
        path: place.path,
        flags: place.flags.map((flag) => flag.text),
        settings: place.flags.map((flag) => flag.setting),
      })),
    ...storageSetupOf(host),
    filesRead:
      (analysis.daemonJson.present ? 1 : 0) + host.systemd.service.length + host.environmentFiles.filter((file) => file.text !== undefined).length,
    problems: host.problems.filter((p) => CONFIG_PROBES.has(p.probe)).map((p) => `${p.probe}: ${p.message}`),
  };
}

/** docker-storage-setup's state, when its unit is installed: STORAGE_DRIVER as its settings file sets it (the last one wins, as in the shell). */
function storageSetupOf(host: HostFacts): { storageSetup?: StorageSetupState } {
  const units = host.systemd.storageSetupUnits;
  if (units.length === 0) return {};
  const text = host.environmentFiles.find((file) => file.path === STORAGE_SETUP_FILE)?.text;
  const storageDriver = parseEnvironmentFile(text ?? '').filter((setting) => setting.name === 'STORAGE_DRIVER').at(-1)?.value;
  return { storageSetup: { units, path: STORAGE_SETUP_FILE, fileExists: text !== undefined, ...(storageDriver !== undefined ? { storageDriver } : {}) } };
}
