/**
 * Hosts whose engine was upgraded before the migration: a daemon that does not start (and why,
 * from its journal), and a daemon that started on an empty store next to the devicemapper data.
 */
import type { Analysis } from '../analysis.js';
import { entry, listText, type Check } from '../entry.js';
import { DEVICEMAPPER_REMOVED_ERROR } from './version.js';

/** The other way on, without reinstalling: rescue mode (docs/contract.md, "Rescue mode"). */
export const RESCUE_REMEDY =
  'Or, without reinstalling: keep a dockerd binary older than 25 (e.g. from the old package, unpacked with `rpm2cpio … | cpio -idm` or `dpkg -x`) and set source.dockerd to its path in the answers (the wizard asks for it); `devmapper-migrate run` then exports everything through that dockerd on a private socket and starts the installed engine on overlay2.';

/**
 * The rescue situation: the data-root holds a populated devicemapper/ and an installed (or
 * running) engine v25+ refuses it (the daemon does not answer) or started an empty store beside
 * it. Then `run` needs `source.dockerd`. Returns why, in words, or undefined.
 */
export function rescueSituation(a: Analysis): string | undefined {
  const dm = a.host.dataRoot.devicemapper;
  if (!dm || (dm.metadataCount === 0 && dm.poolFiles.length === 0)) return undefined;
  const v25 = [a.runningVersion, a.installedVersion].find((v) => v && v.major >= 25);
  if (!v25) return undefined;
  if (a.daemonDown) return `the installed Docker ${v25.raw} does not start, and ${a.daemon.dockerRootDir}/devicemapper holds the images and containers`;
  if (a.strandedDevicemapper) return `Docker ${v25.raw} runs an empty ${a.daemon.driver} beside ${a.daemon.dockerRootDir}/devicemapper, which holds the images and containers`;
  return undefined;
}

/** The way back for a host whose engine is too new for its data. */
const REINSTALL_OLD_ENGINE =
  'Reinstall the engine the host ran before (24.x or older, e.g. `yum downgrade docker-ce-24.0.9 docker-ce-cli-24.0.9`, or `apt-get install docker-ce=5:24.0.9-1~<release> docker-ce-cli=5:24.0.9-1~<release>`) and hold it there, name the driver in daemon.json ("storage-driver": "devicemapper"), start Docker and check that `docker images` lists your images; then run devmapper-migrate, and upgrade the engine after the migration.';

export const daemonDownCheck: Check = {
  name: 'daemon not answering',
  keys: ['daemon-unreachable', 'engine-refuses-devicemapper'],
  run(a: Analysis) {
    const down = a.facts.daemonDown;
    if (!down) return [];
    const journal = a.host.journal;
    const lastError = journal?.lastError;
    const installed = a.host.installedDockerd ? ` The installed dockerd (${a.host.installedDockerd.path}) says "${a.host.installedDockerd.versionOutput}".` : '';
    const said = lastError
      ? ` Its last start failed with: "${lastError}" (journalctl -u docker).`
      : journal?.read
        ? ' The journal of docker.service holds no start failure.'
        : '';
    const refusesDevicemapper = lastError?.includes(DEVICEMAPPER_REMOVED_ERROR) === true;
    const entries = [
      entry(
        'daemon-unreachable',
        'blocker',
        'The Docker daemon does not answer',
        `${down.message}${said}${installed} This report comes from the host's files only: images, containers and volumes are unknown until the daemon runs.`,
        // Starting this engine again would fail the same way; the next entry says what to do.
        refusesDevicemapper ? 'Do not try to start this engine again as it is: see engine-refuses-devicemapper.' : down.remedy,
        { dockerHost: a.host.dockerHost, lastError, installed: a.host.installedDockerd },
      ),
    ];
    if (refusesDevicemapper) {
      const dm = a.host.dataRoot.devicemapper;
      const data = dm
        ? `${a.daemon.dockerRootDir}/devicemapper holds the pool (${dm.metadataCount} device metadata file(s)${dm.poolFiles.length ? `, ${listText(dm.poolFiles)}` : ''}): the images and containers are there, unreadable by this engine.`
        : `The images and containers are in ${a.daemon.dockerRootDir}/devicemapper, unreadable by this engine.`;
      entries.push(
        entry(
          'engine-refuses-devicemapper',
          'blocker',
          'The engine was upgraded to v25 or newer before the migration',
          `dockerd refuses to start because its configuration names devicemapper, which Engine v25 removed ("${DEVICEMAPPER_REMOVED_ERROR}"). ${data} Removing the storage-driver setting would not help: the engine would then start on an empty overlay2, and the host would look wiped.`,
          `${REINSTALL_OLD_ENGINE} ${RESCUE_REMEDY}`,
          { dataRoot: a.daemon.dockerRootDir, devicemapper: dm },
        ),
      );
    }
    return entries;
  },
};

export const strandedDevicemapperCheck: Check = {
  name: 'devicemapper data the daemon does not use',
  keys: ['devicemapper-data-not-in-use'],
  run(a: Analysis) {
    const dm = a.strandedDevicemapper;
    if (!dm) return [];
    const root = a.daemon.dockerRootDir;
    const held = [
      dm.metadataCount > 0 ? `${dm.metadataCount} file(s) in devicemapper/metadata (${listText(dm.metadataFiles, 4)})` : '',
      dm.poolFiles.length > 0 ? `the pool's files devicemapper/devicemapper/${dm.poolFiles.join(', ')}` : '',
    ].filter(Boolean);
    const v25 = [a.runningVersion, a.installedVersion].some((v) => v && v.major >= 25);
    return [
      entry(
        'devicemapper-data-not-in-use',
        'blocker',
        `${root}/devicemapper holds data the ${a.daemon.driver} daemon does not see`,
        `The daemon runs ${a.daemon.driver} on ${root}, and next to it ${root}/devicemapper holds ${held.join(' and ')}: the images and containers of a devicemapper daemon. ` +
          `${v25 ? `Docker ${a.daemon.serverVersion} removed devicemapper and, with no driver named, started on an empty ${a.daemon.driver}: the engine was upgraded before the migration. ` : 'The daemon started on another driver than the one that holds this data (an engine upgraded before the migration, or the driver changed by hand). '}` +
          'A run would migrate only what this daemon shows and leave those images and containers behind.',
        v25
          ? `Do not delete ${root}/devicemapper. Stop Docker. ${REINSTALL_OLD_ENGINE} ${RESCUE_REMEDY}`
          : `Do not delete ${root}/devicemapper. Stop Docker, name the driver in daemon.json ("storage-driver": "devicemapper"), start Docker and check that \`docker images\` lists your images; then run devmapper-migrate. What was created on ${a.daemon.driver} since stays in ${root}/${a.daemon.driver}.`,
        { dataRoot: root, driver: a.daemon.driver, devicemapper: dm },
      ),
    ];
  },
};
