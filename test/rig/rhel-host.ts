// A rig daemon in the shape of RHEL 7's own docker (1.13.1): docker.service's ExecStart runs
// /usr/bin/dockerd-current with RHEL's flags and $OPTIONS $DOCKER_STORAGE_OPTIONS ... from
// /etc/sysconfig/docker, docker-storage and docker-network, after docker-storage-setup (a
// faithful stand-in, container-storage-setup.sh) has rewritten /etc/sysconfig/docker-storage.
// Those files live under a host root of the daemon's own (the tool reads it through
// DEVMAPPER_MIGRATE_HOST_ROOT); the daemon's directory is bind-mounted at its own path inside
// that root, so the data-root, pid file and daemon.json the tool finds there are the daemon's.
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shellQuote, startDockerd, type DaemonHandle, type DaemonInfo, type ServiceShape } from './dockerd.js';
import { DOCKERD, REPO_ROOT } from './paths.js';
import { runOk } from './proc.js';

/** RHEL 7's docker.service (docker-1.13.1-209.git7d71120.el7_9), as shipped: the fixture host's copy. */
export const RHEL7_DOCKER_UNIT = readFileSync(join(REPO_ROOT, 'test/fixtures/hosts/rhel7-storage-setup/root/usr/lib/systemd/system/docker.service'), 'utf8');

/** The literal flags of that ExecStart, between the binary and $OPTIONS. */
const UNIT_FLAGS = '--add-runtime docker-runc=/usr/libexec/docker/docker-runc-current --default-runtime=docker-runc --exec-opt native.cgroupdriver=systemd --userland-proxy-path=/usr/libexec/docker/docker-proxy-current --init-path=/usr/libexec/docker/docker-init-current --seccomp-profile=/etc/docker/seccomp.json';

export const RHEL7_STORAGE_SETUP_UNIT = `[Unit]
Description=Docker Storage Setup
After=cloud-init.service
Before=docker.service

[Service]
Type=oneshot
ExecStart=/usr/bin/container-storage-setup
EnvironmentFile=-/etc/sysconfig/docker-storage-setup

[Install]
WantedBy=multi-user.target
`;

/** /etc/sysconfig/docker as RHEL 7 ships it (OPTIONS with --signature-verification=false). */
export const RHEL7_SYSCONFIG_DOCKER = `# /etc/sysconfig/docker

# Modify these options if you want to change the way the docker daemon runs
OPTIONS='--selinux-enabled --log-driver=journald --signature-verification=false'
if [ -z "\${DOCKER_CERT_PATH}" ]; then
    DOCKER_CERT_PATH=/etc/docker
fi
`;

/** /etc/sysconfig/docker-storage-setup of a host set up for direct-lvm by docker-storage-setup. */
export const RHEL7_STORAGE_SETUP = `# Edit this file to override any configuration options specified in
# /usr/lib/docker-storage-setup/docker-storage-setup.
#
# For more details refer to "man docker-storage-setup"
STORAGE_DRIVER=devicemapper
DEVS=/dev/sdb
VG=docker-vg
`;

/**
 * /usr/bin/dockerd-current on this Debian machine: Debian's dockerd with what it cannot honour
 * stood in. devicemapper (no thin pool here) runs as vfs, its dm.* options go; RHEL's helper
 * paths become Debian's; --signature-verification (a RHEL patch), SELinux, journald logging and
 * the systemd cgroup driver (no SELinux, journal or systemd under the rig) are left out.
 */
function dockerdCurrentText(): string {
  return `#!/bin/bash
# dockerd-current stand-in (see test/rig/rhel-host.ts). Its own words go to a file for the tests.
printf '%s\n' "$*" > "$(dirname "$0")/../../dockerd-current.args"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --storage-driver|-s) shift; [ "$1" = devicemapper ] && args+=(--storage-driver vfs) || args+=(--storage-driver "$1") ;;
    --storage-driver=devicemapper) args+=(--storage-driver vfs) ;;
    --storage-opt) shift; case "$1" in dm.*) ;; *) args+=(--storage-opt "$1") ;; esac ;;
    --storage-opt=dm.*) ;;
    --add-runtime) shift; args+=(--add-runtime "\${1%%=*}=/usr/bin/runc") ;;
    --userland-proxy-path=*) args+=(--userland-proxy-path=/usr/sbin/docker-proxy) ;;
    --init-path=*) args+=(--init-path=/usr/bin/docker-init) ;;
    --seccomp-profile=*|--signature-verification=*|--selinux-enabled|--log-driver=journald) ;;
    --exec-opt) shift; [ "$1" = native.cgroupdriver=systemd ] || args+=(--exec-opt "$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
exec ${DOCKERD} "\${args[@]}"
`;
}

export interface RhelDaemon {
  daemon: DaemonHandle;
  /** The host root the tool is given (DEVMAPPER_MIGRATE_HOST_ROOT). */
  hostRoot: string;
  /** A host path's file under the host root. */
  file(hostPath: string): string;
  /** The words dockerd-current was last started with (what the unit and its files gave it). */
  startedWith(): string;
  /** What finalize's `lvremove` does to the old thin pool on a real devicemapper host. */
  removeThinPool(): Promise<void>;
}

function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

/** Lays the RHEL host out under <daemon dir>/host and returns how start.sh runs dockerd there. */
function rhelService(info: DaemonInfo): ServiceShape {
  const root = join(info.dir, 'host');
  write(join(root, 'usr/lib/systemd/system/docker.service'), RHEL7_DOCKER_UNIT);
  write(join(root, 'usr/lib/systemd/system/docker-storage-setup.service'), RHEL7_STORAGE_SETUP_UNIT);
  write(join(root, 'etc/sysconfig/docker'), RHEL7_SYSCONFIG_DOCKER);
  write(join(root, 'etc/sysconfig/docker-network'), '# /etc/sysconfig/docker-network\nDOCKER_NETWORK_OPTIONS=\n');
  write(join(root, 'etc/sysconfig/docker-storage-setup'), RHEL7_STORAGE_SETUP);
  write(join(root, 'usr/bin/dockerd-current'), dockerdCurrentText(), 0o755);
  mkdirSync(join(root, 'dev/docker-vg'), { recursive: true });
  // The tool finds the dockerd process and the mounts through /proc.
  symlinkSync('/proc', join(root, 'proc'));
  mkdirSync(join(root, info.dir), { recursive: true });
  const q = shellQuote;
  return {
    beforeStart: [
      'set +u',
      `HOST_ROOT=${q(root)} DOCKER_METADATA_DIR=${q(info.dataRoot)} bash ${q(join(REPO_ROOT, 'test/rig/container-storage-setup.sh'))} >> ${q(info.logFile)} 2>&1 || echo "docker-storage-setup failed (docker.service only Wants= it)" >> ${q(info.logFile)}`,
    ].join('\n'),
    environmentFiles: ['etc/sysconfig/docker', 'etc/sysconfig/docker-storage', 'etc/sysconfig/docker-network'].map((f) => join(root, f)),
    executable: join(root, 'usr/bin/dockerd-current'),
    trailingWords: `${UNIT_FLAGS} $OPTIONS $DOCKER_STORAGE_OPTIONS $DOCKER_NETWORK_OPTIONS $ADD_REGISTRY $BLOCK_REGISTRY $INSECURE_REGISTRY $REGISTRIES`,
  };
}

/**
 * Starts a rig dockerd the way RHEL 7's docker.service would: its driver comes from
 * /etc/sysconfig/docker-storage (written by the docker-storage-setup stand-in at the first start:
 * devicemapper, run as vfs), and daemon.json names none.
 */
export async function startRhelDockerd(name: string): Promise<RhelDaemon> {
  const daemon = await startDockerd({
    name,
    storageDriver: undefined,
    service: rhelService,
  });
  const hostRoot = join(daemon.dir, 'host');
  const inRoot = join(hostRoot, daemon.dir);
  try {
    // Private: the daemon's own mounts below its directory stay out of this view (and out of teardown's way).
    await runOk('mount', ['--bind', daemon.dir, inRoot]);
    await runOk('mount', ['--make-private', inRoot]);
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return {
    daemon,
    hostRoot,
    file: (hostPath) => join(hostRoot, hostPath),
    startedWith: () => readFileSync(join(hostRoot, 'dockerd-current.args'), 'utf8').trim(),
    async removeThinPool() {
      await runOk('rm', ['-f', join(hostRoot, 'dev/mapper/docker--vg-docker--pool')]);
    },
  };
}
