/** Engine versions: v25 removed devicemapper; v23+ wants the driver named explicitly. */
import type { Analysis } from '../analysis.js';
import { entry, type Check } from '../entry.js';

/** Engine v25's words when its configuration names devicemapper (moby daemon/graphdriver). */
export const DEVICEMAPPER_REMOVED_ERROR =
  'failed to start daemon: error initializing graphdriver: [graphdriver] ERROR: the devicemapper storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information: devicemapper';

export const versionCheck: Check = {
  name: 'docker version',
  keys: ['docker-version', 'docker-version-devicemapper-removed', 'storage-driver-not-explicit'],
  run(a: Analysis) {
    const entries = [];
    const running = a.runningVersion;
    const installed = a.installedVersion;
    const installedText = a.host.installedDockerd
      ? `; the installed dockerd (${a.host.installedDockerd.path}) is ${installed?.raw ?? a.host.installedDockerd.versionOutput}`
      : '';
    entries.push(
      entry(
        'docker-version',
        'info',
        `Docker Engine ${a.daemon.serverVersion}`,
        `The running daemon is Docker ${a.daemon.serverVersion} (API ${a.daemon.apiVersion})${installedText}.`,
        undefined,
        { running: a.daemon.serverVersion, apiVersion: a.daemon.apiVersion, installed: a.host.installedDockerd },
      ),
    );

    const v25 = [running, installed].filter((v) => v && v.major >= 25).map((v) => v!.raw);
    const needsDevicemapper = a.options.target === 'direct-lvm' || (a.devicemapperConfigured && !a.alreadyOnTarget);
    // In rescue mode the legacy dockerd of source.dockerd reads devicemapper; the installed engine only ever starts on overlay2.
    const rescued = a.options.sourceDockerd !== undefined && a.options.target === 'overlay2';
    if (v25.length > 0 && needsDevicemapper && !rescued) {
      const why =
        a.options.target === 'direct-lvm'
          ? 'the direct-lvm target keeps the devicemapper driver'
          : `devicemapper is configured (${a.explicitDriver?.driver === 'devicemapper' ? a.explicitDriver.where : `driver in use: ${a.daemon.driver}`})`;
      entries.push(
        entry(
          'docker-version-devicemapper-removed',
          'blocker',
          'Engine v25 or newer cannot run devicemapper',
          `Docker ${v25[0]} is ${running && running.major >= 25 ? 'running' : 'installed'} and ${why}. Engine v25 removed the driver; at its next start dockerd stops with: "${DEVICEMAPPER_REMOVED_ERROR}".`,
          a.options.target === 'direct-lvm'
            ? 'Choose target overlay2, or keep the engine at 24.x or older.'
            : 'Install the last engine you ran (24.x or older, e.g. `yum downgrade docker-ce-24.0.9 docker-ce-cli-24.0.9`) and hold it there, run the migration, then upgrade.',
          { versions: v25 },
        ),
      );
    }

    const hasDevicemapperData = a.daemon.driver === 'devicemapper' || a.host.dataRoot.driverDirs.includes('devicemapper');
    if (!a.explicitDriver && hasDevicemapperData && !a.alreadyOnTarget) {
      entries.push(
        entry(
          'storage-driver-not-explicit',
          'warning',
          'No storage driver is named while devicemapper data exists',
          `Neither ${a.daemonJson.path} nor dockerd's flags name a storage driver; dockerd picks devicemapper because its data is in ${a.daemon.dockerRootDir}/devicemapper. ` +
            'Engine v23/v24 then warn "prior storage driver devicemapper is deprecated and will be removed in a future release; update the the daemon configuration and explicitly choose this storage driver to continue using it"; ' +
            'Engine v25 would start on an empty overlay2 without a word, and the host would look wiped.',
          'Do not upgrade the engine before the migration. To be safe meanwhile, add "storage-driver": "devicemapper" to daemon.json; the run replaces it with the target driver.',
        ),
      );
    }
    return entries;
  },
};
