// The workload and the pieces of the end-to-end migration test (run.test.ts) that other
// migration tests share: the same host, run at other API versions (api-versions.test.ts).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BASE_IMAGE, buildImage, docker, freePort, seedBaseImage, subnetFor, type DaemonHandle, type DaemonInfo, type RunResult } from '../rig/index.js';
import { addRollbackTraps } from './fault-common.js';

export const RUN_APP = 'run-test/app:1';
export const RUN_VOLUME = 'run-data';
const VOLUME = RUN_VOLUME;

/** A failed CLI run, with the end of the daemon's log. */
export function explainRun(result: RunResult, daemon: Pick<DaemonHandle, 'logTail'>): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n--- daemon log\n${daemon.logTail(30)}`;
}

/** The answers file's service section: the rig's own start.sh and stop.sh. */
export function commandServiceAnswers(daemon: Pick<DaemonInfo, 'stopScript' | 'startScript'>): string[] {
  return ['service:', '  manager: command', `  stop: bash ${daemon.stopScript}`, `  start: bash ${daemon.startScript}`, '  timeoutSeconds: 120'];
}

/** Images with three tags and an untagged one, networks, volumes of every kind of file, containers of every kind. */
export async function createRunWorkload(daemon: DaemonHandle): Promise<void> {
  const d = (...args: string[]) => docker(daemon, ...args);
  await seedBaseImage(daemon);
  await buildImage(daemon, RUN_APP, `FROM ${BASE_IMAGE}\nENV IMGVAR=fromimage\nWORKDIR /srv\nLABEL img.label=one\nCMD ["sleep","3600"]\n`);
  await d('tag', RUN_APP, 'run-test/app:latest');
  await d('tag', RUN_APP, 'run-test/app:stable');
  // Built twice under one tag: the first build is left untagged (dangling), and must not be lost.
  await buildImage(daemon, 'run-test/old:1', `FROM ${BASE_IMAGE}\nLABEL build=first\n`);
  await buildImage(daemon, 'run-test/old:1', `FROM ${BASE_IMAGE}\nLABEL build=second\n`);
  const subnet = subnetFor(daemon, 1);
  const staticIp = subnet.replace(/0\/24$/, '10');
  await d('network', 'create', '--subnet', subnet, '--gateway', subnet.replace(/0\/24$/, '1'), '--ip-range', subnet.replace(/0\/24$/, '128/25'), '--label', 'net.l=1', 'run-appnet');
  await d('network', 'create', '--internal', '--label', 'tier=back', 'run-back');
  await d('volume', 'create', '--label', 'v=1', VOLUME);
  // Every kind of file: regular, directory, symlink, hard link, modes, owners, an xattr.
  await d(
    'run', '--rm', '-v', `${VOLUME}:/data`, BASE_IMAGE, 'sh', '-c',
    'mkdir -p /data/sub/deep && echo hello > /data/greeting.txt && seq 1 5000 > /data/sub/numbers.txt && ' +
      'ln -s greeting.txt /data/link && ln /data/greeting.txt /data/hard && chmod 0640 /data/greeting.txt && ' +
      'chown 1234:5678 /data/sub/numbers.txt && chmod 1777 /data/sub/deep && touch -d "2001-02-03 04:05:06" /data/sub/numbers.txt && ' +
      'mkfifo -m 0620 /data/pipe && mknod -m 0600 /data/null c 1 3',
  );
  execFileSync('setfattr', ['-n', 'user.origin', '-v', 'kept', join(daemon.dataRoot, 'volumes', VOLUME, '_data', 'greeting.txt')]);
  const port = await freePort();
  await d(
    'run', '-d', '--name', 'web', '--network', 'run-appnet', '--ip', staticIp, '--network-alias', 'www',
    '-p', `127.0.0.1:${port}:80`, '-e', 'FOO=bar', '-l', 'app=web', '--restart', 'unless-stopped', '-m', '64m',
    '-v', `${VOLUME}:/data`, '-v', '/anon', RUN_APP, 'sh', '-c', 'echo hello-web > /srv/index.html && exec httpd -f -p 80 -h /srv',
  );
  await d('run', '-d', '--name', 'two', '--network', 'run-appnet', '--cpus', '0.5', '--pids-limit', '64', '--restart', 'always', RUN_APP);
  await d('network', 'connect', '--alias', 'backtwo', 'run-back', 'two');
  await d('run', '-d', '--name', 'side', '--network', 'container:web', RUN_APP);
  await d('run', '--name', 'stopped', '--restart', 'on-failure:3', RUN_APP, 'true');
  await d('create', '--name', 'never', '-e', 'ONLY=created', '-w', '/tmp', RUN_APP, 'echo', 'hi');
  await d('run', '-d', '--name', 'layer', 'run-test/app:stable');
  await d('exec', 'layer', 'sh', '-c', 'echo added > /srv/new.txt && echo changed >> /etc/motd && rm /usr/bin/wc');
  // A tmpfs-backed volume, mounted by a running container: its files are fresh at each mount.
  await d('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m', 'run-scratch');
  await d('run', '-d', '--name', 'scratch', '-v', 'run-scratch:/scratch', RUN_APP, 'sh', '-c', 'echo temp > /scratch/t && exec sleep 3600');
  await addRollbackTraps(daemon);
}

