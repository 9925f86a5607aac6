/** Every place a setting can hide that would make dockerd refuse, or ignore, the new daemon.json. */
import type { StorageFlag } from '../../config/dockerd-flags.js';
import { parseEnvironmentFile } from '../../config/dockerd-flags.js';
import { STORAGE_SETUP_FILE } from '../../config/unit-file-edit.js';
import { isLocalAddress, parseDockerAddress } from '../../facts/parse.js';
import { describePlace, type Analysis, type FlagPlace } from '../analysis.js';
import { entry, listText, type Check } from '../entry.js';

const CONFLICT = 'the following directives are specified both as a flag and in the configuration file';

export const daemonJsonCheck: Check = {
  name: 'daemon.json',
  keys: ['daemon-json-invalid', 'daemon-json-bom', 'daemon-config-path-mismatch'],
  run(a: Analysis) {
    const entries = [];
    const parse = a.daemonJson.parse;
    if (parse && !parse.ok) {
      const { line, column, message } = parse.error;
      entries.push(
        entry(
          'daemon-json-invalid',
          'blocker',
          `${a.daemonJson.path} is not valid JSON`,
          `${a.daemonJson.path} line ${line}, column ${column}: ${message}. dockerd will not start with this file, and the run cannot merge the new storage driver into it.`,
          `Fix line ${line} of ${a.daemonJson.path} (check it with \`python3 -m json.tool ${a.daemonJson.path}\`), then run preflight again.`,
          { path: a.daemonJson.path, line, column, message },
        ),
      );
    }
    if (parse?.bom) {
      entries.push(
        entry(
          'daemon-json-bom',
          'warning',
          `${a.daemonJson.path} starts with a byte order mark`,
          `The file begins with a UTF-8 byte order mark. Engines before 23.0 refuse it ("invalid character 'ï' looking for beginning of value") at their next start. The run writes the file back without it.`,
          `Remove it by hand if you restart dockerd before the run: \`sed -i '1s/^\\xEF\\xBB\\xBF//' ${a.daemonJson.path}\`.`,
        ),
      );
    }
    const configFile = a.host.dockerd ? configFileFlag(a.host.dockerd.argv) : undefined;
    if (configFile && configFile !== a.daemonJson.path) {
      entries.push(
        entry(
          'daemon-config-path-mismatch',
          'warning',
          'dockerd reads another configuration file',
          `The running dockerd was started with --config-file ${configFile}, but devmapper-migrate would write ${a.daemonJson.path}.`,
          `Run devmapper-migrate with --daemon-config ${configFile}.`,
          { running: configFile, configured: a.daemonJson.path },
        ),
      );
    }
    return entries;
  },
};

function configFileFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config-file') return argv[i + 1];
    if (arg.startsWith('--config-file=')) return arg.slice('--config-file='.length);
  }
  return undefined;
}

const CONFLICTING = (f: StorageFlag) => f.setting === 'storage-driver' || f.setting === 'storage-opts';

function conflictQuote(a: Analysis, flags: readonly StorageFlag[]): string {
  const driver = flags.find((f) => f.setting === 'storage-driver');
  const target = a.options.target === 'overlay2' ? 'overlay2' : 'devicemapper';
  const example = driver
    ? `storage-driver: (from flag: ${driver.value}, from file: ${target})`
    : `storage-opts: (from flag: [${flags.filter((f) => f.setting === 'storage-opts').map((f) => f.value).join(' ')}], from file: [...])`;
  return `"unable to configure the Docker daemon with file ${a.daemonJson.path}: ${CONFLICT}: ${example}"`;
}

function dmOptionNote(a: Analysis, flags: readonly StorageFlag[]): string {
  const dm = flags.find((f) => f.setting === 'storage-opts' && f.value.startsWith('dm.'));
  if (!dm || a.options.target !== 'overlay2') return '';
  const name = dm.value.split('=')[0];
  return ` Left in place, the devicemapper option alone stops overlay2: "error initializing graphdriver: overlay2: unknown option ${name}".`;
}

export const storageFlagsCheck: Check = {
  name: 'storage flags outside daemon.json',
  keys: ['storage-flag-conflict', 'storage-flags-unexplained'],
  run(a: Analysis) {
    if (a.alreadyOnTarget) return [];
    const entries = [];
    const configured = a.places.filter((p) => p.kind !== 'cmdline');
    for (const place of configured) {
      const flags = place.flags.filter(CONFLICTING);
      if (flags.length === 0) continue;
      const text = flags.map((f) => f.text).join(' ');
      const where = describePlace(place);
      const use = place.active
        ? 'dockerd is started with them'
        : 'the current docker.service does not use them, but a service script or a later unit change could';
      entries.push(
        entry(
          'storage-flag-conflict',
          'warning',
          `Storage flags in ${place.path}`,
          `${where} sets ${text}; ${use}. Once daemon.json names the storage driver, dockerd refuses to start: ${conflictQuote(a, flags)}.${dmOptionNote(a, flags)} ` +
            'The run removes these flags (keeping a copy for rollback).',
          removal(place),
          { path: place.path, line: place.line, variable: place.variable, active: place.active, flags },
        ),
      );
    }
    const cmdline = a.places.find((p) => p.kind === 'cmdline');
    if (cmdline) {
      const known = new Set(configured.flatMap((p) => p.flags.map((f) => `${f.setting}=${f.value}`)));
      const unexplained = cmdline.flags.filter((f) => CONFLICTING(f) && !known.has(`${f.setting}=${f.value}`));
      if (unexplained.length > 0) {
        const byCommand = a.options.serviceManager === 'command';
        const text = unexplained.map((f) => f.text).join(' ');
        entries.push(
          entry(
            'storage-flags-unexplained',
            byCommand ? 'warning' : 'blocker',
            'The running dockerd has storage flags from an unknown place',
            `dockerd (pid ${a.host.dockerd!.pid}${a.host.dockerd!.systemdUnit ? `, ${a.host.dockerd!.systemdUnit}` : ', not under docker.service'}) runs with ${text}, ` +
              `found in no unit, drop-in or /etc/sysconfig or /etc/default file. Restarted the same way after the run, it would refuse the new daemon.json: ${conflictQuote(a, unexplained)}.`,
            byCommand
              ? 'Make sure your service start command no longer passes these flags once the run has written daemon.json.'
              : 'Find where dockerd gets these flags (an init script, a wrapper, a process supervisor) and remove them, or answer service.manager: command with start and stop commands that do not pass them.',
            { pid: a.host.dockerd!.pid, flags: unexplained },
          ),
        );
      }
    }
    return entries;
  },
};

function removal(place: FlagPlace): string {
  if (place.kind === 'environment-file') {
    return `To do it by hand: remove the storage flags from ${place.variable} in ${place.path} (line ${place.line}).`;
  }
  if (place.kind === 'systemd-drop-in') return `To do it by hand: edit ${place.path}, then \`systemctl daemon-reload\`.`;
  return `To do it by hand: override ExecStart in a drop-in (\`systemctl edit docker.service\`) without these flags, then \`systemctl daemon-reload\`.`;
}

export const dockerdProcessCheck: Check = {
  name: 'dockerd process and docker host',
  keys: ['docker-host-remote', 'dockerd-process-not-found'],
  run(a: Analysis) {
    const address = parseDockerAddress(a.host.dockerHost);
    if (!isLocalAddress(address)) {
      return [
        entry(
          'docker-host-remote',
          'blocker',
          'The Docker host is another machine',
          `--docker-host ${a.host.dockerHost} is not on this machine, but the files, filesystems and devices preflight reads (and the run changes) are this machine's.`,
          'Run devmapper-migrate on the Docker host itself, with its local socket.',
        ),
      ];
    }
    if (a.host.dockerd) return [];
    const others = a.host.dockerdCandidates.map((c) => `pid ${c.pid}`);
    return [
      entry(
        'dockerd-process-not-found',
        'warning',
        'Could not find the dockerd process',
        `No running dockerd on this machine listens on ${a.host.dockerHost}${others.length ? ` (dockerds found: ${listText(others)})` : ''}, so its command line was not checked for storage flags.`,
        'Check /proc/<pid>/cmdline of the Docker daemon for -s/--storage-driver and --storage-opt by hand.',
        { candidates: a.host.dockerdCandidates },
      ),
    ];
  },
};

export const storageSetupCheck: Check = {
  name: 'docker-storage-setup',
  keys: ['docker-storage-setup-active'],
  run(a: Analysis) {
    if (a.alreadyOnTarget || a.host.systemd.storageSetupUnits.length === 0) return [];
    const file = a.host.environmentFiles.find((f) => f.path === STORAGE_SETUP_FILE);
    const settings = Object.fromEntries(parseEnvironmentFile(file?.text ?? '').map((x) => [x.name, x.value]));
    const driver = settings.STORAGE_DRIVER;
    // Only an empty STORAGE_DRIVER makes it do nothing; overlay2 there writes "--storage-driver overlay2", which conflicts with daemon.json too.
    if (driver === '') return [];
    return [
      entry(
        'docker-storage-setup-active',
        'warning',
        'docker-storage-setup rewrites /etc/sysconfig/docker-storage',
        `${listText(a.host.systemd.storageSetupUnits)} is installed and ${file?.text !== undefined ? `${STORAGE_SETUP_FILE} sets STORAGE_DRIVER=${driver ?? '(unset: devicemapper, its default)'}` : `has no ${STORAGE_SETUP_FILE} (its default is devicemapper)`}. ` +
          'docker.service wants it, so it runs before every start of dockerd. Once the run has taken --storage-driver out of /etc/sysconfig/docker-storage, it writes its own flags back: ' +
          'for devicemapper, as soon as the old thin pool is gone (after finalize), it builds a new pool and writes "--storage-driver devicemapper --storage-opt dm.thinpooldev=..."; for overlay2 it writes "--storage-driver overlay2". ' +
          `Either way dockerd then refuses to start: "${CONFLICT}: storage-driver". ` +
          `The run sets STORAGE_DRIVER="" in ${STORAGE_SETUP_FILE}${file?.text === undefined ? ' (creating the file)' : ''}, which makes docker-storage-setup configure nothing ("STORAGE_DRIVER not set, no storage will be configured"); rollback puts the file back as it was.`,
        `Nothing to do before the run. To do it by hand: set STORAGE_DRIVER="" in ${STORAGE_SETUP_FILE}. Do not set STORAGE_DRIVER=overlay2 there while daemon.json names the driver.`,
        { units: a.host.systemd.storageSetupUnits, settings },
      ),
    ];
  },
};

/**
 * RHEL 7 Extras' docker-latest keeps everything under other names (docker-latest.service,
 * /etc/sysconfig/docker-latest*, /etc/docker-latest/daemon.json), which the run does not read
 * or rewrite: it would leave --storage-driver devicemapper in /etc/sysconfig/docker-latest-storage,
 * and dockerd-latest would refuse the new daemon.json. Refused, with the way to run it by hand.
 */
export const dockerLatestCheck: Check = {
  name: 'docker-latest',
  keys: ['docker-latest'],
  run(a: Analysis) {
    const dockerd = a.host.dockerd;
    const binary = dockerd?.argv[0] ?? '';
    if (a.alreadyOnTarget || !dockerd || (!/(^|\/)dockerd?-latest$/.test(binary) && dockerd.systemdUnit !== 'docker-latest.service')) return [];
    return [
      entry(
        'docker-latest',
        'blocker',
        'docker-latest runs this daemon',
        `dockerd (pid ${dockerd.pid}) is ${binary}${dockerd.systemdUnit ? ` under ${dockerd.systemdUnit}` : ''}: RHEL 7 Extras' docker-latest, whose settings are in /etc/sysconfig/docker-latest, /etc/sysconfig/docker-latest-storage, /etc/sysconfig/docker-latest-storage-setup and /etc/docker-latest/daemon.json. ` +
          'The run reads and rewrites docker.service and /etc/sysconfig/docker* only: it would leave the storage flags in /etc/sysconfig/docker-latest-storage, and docker-latest-storage-setup would write them back, so dockerd-latest would refuse the new daemon.json.',
        'Either move the host to the `docker` package first (`systemctl disable --now docker-latest`, then `systemctl enable --now docker`; its data-root is /var/lib/docker, not /var/lib/docker-latest), or do the three edits of the run by hand: ' +
          'copy /etc/sysconfig/docker-latest-storage and /etc/sysconfig/docker-latest-storage-setup aside, empty DOCKER_STORAGE_OPTIONS in the first and set STORAGE_DRIVER="" in the second, then run with --daemon-config /etc/docker-latest/daemon.json, ' +
          'service.manager: command, service.stop: "systemctl stop docker-latest", service.start: "systemctl start docker-latest", and ignoreBlockers: [docker-latest]. The run does not restore those two files, nor does a rollback (automatic or not): put your copies back, then `systemctl restart docker-latest`.',
        { pid: dockerd.pid, binary, unit: dockerd.systemdUnit },
      ),
    ];
  },
};
