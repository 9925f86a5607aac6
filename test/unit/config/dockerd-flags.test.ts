import { describe, expect, it } from 'vitest';
import {
  dockerdArgsOf,
  environmentOf,
  execStartArgv,
  isDockerdCommandLine,
  parseDockerdArgs,
  parseEnvironmentFile,
  parseProcCmdline,
  referencedVariables,
  serviceCommand,
  storageFlagsInOptions,
} from '../../../src/config/dockerd-flags.js';

const flagTexts = (args: string[]) => parseDockerdArgs(args).storageFlags.map((f) => `${f.setting}:${f.value}`);

describe('parseDockerdArgs', () => {
  it('finds every spelling of the storage flags', () => {
    expect(
      flagTexts([
        '-s', 'devicemapper',
        '-s=overlay',
        '-svfs',
        '--storage-driver', 'aufs',
        '--storage-driver=overlay2',
        '--storage-opt', 'dm.thinpooldev=/dev/mapper/docker--vg-docker--pool',
        '--storage-opt=dm.basesize=20G',
        '-g', '/srv/old',
        '--graph=/srv/older',
        '--data-root', '/srv/docker',
      ]),
    ).toEqual([
      'storage-driver:devicemapper',
      'storage-driver:overlay',
      'storage-driver:vfs',
      'storage-driver:aufs',
      'storage-driver:overlay2',
      'storage-opts:dm.thinpooldev=/dev/mapper/docker--vg-docker--pool',
      'storage-opts:dm.basesize=20G',
      'data-root:/srv/old',
      'data-root:/srv/older',
      'data-root:/srv/docker',
    ]);
  });

  it('reads shorthand clusters and does not mistake values for flags', () => {
    expect(flagTexts(['-Ds', 'devicemapper'])).toEqual(['storage-driver:devicemapper']);
    expect(flagTexts(['-H', 'unix:///run/a.sock', '-l', 'debug', '--label', 'storage=fast'])).toEqual([]);
    expect(flagTexts(['--storage-driver-extra=1', '--selinux-enabled'])).toEqual([]);
    expect(flagTexts(['-p', '/run/x.pid', '-G', 'docker'])).toEqual([]);
  });

  it('collects hosts, config file and pidfile', () => {
    expect(
      parseDockerdArgs(['-H', 'fd://', '--host=tcp://0.0.0.0:2376', '-Hunix:///x.sock', '--config-file', '/etc/d.json', '--pidfile=/run/d.pid']),
    ).toEqual({ storageFlags: [], hosts: ['fd://', 'tcp://0.0.0.0:2376', 'unix:///x.sock'], configFile: '/etc/d.json', pidfile: '/run/d.pid' });
  });

  it('formats flags the way they read', () => {
    expect(parseDockerdArgs(['-s', 'devicemapper', '--storage-opt', 'dm.fs=xfs']).storageFlags.map((f) => f.text)).toEqual([
      '-s devicemapper',
      '--storage-opt=dm.fs=xfs',
    ]);
  });
});

describe('command lines', () => {
  it('recognises Docker daemons and only them', () => {
    expect(isDockerdCommandLine(['/usr/bin/dockerd', '-H', 'fd://'])).toBe(true);
    expect(isDockerdCommandLine(['/usr/bin/dockerd-current', '--add-runtime', 'x'])).toBe(true);
    expect(isDockerdCommandLine(['/usr/bin/docker', 'daemon', '-s', 'devicemapper'])).toBe(true);
    expect(isDockerdCommandLine(['docker', '-d'])).toBe(true);
    expect(isDockerdCommandLine(['/usr/bin/docker', 'ps'])).toBe(false);
    expect(isDockerdCommandLine(['/usr/bin/containerd'])).toBe(false);
    expect(isDockerdCommandLine(['/usr/bin/docker-containerd-current', '-l', 'x'])).toBe(false);
    expect(isDockerdCommandLine(['/usr/local/bin/dockerd-rootless.sh'])).toBe(false);
  });

  it('reads /proc/<pid>/cmdline and drops the program and the old daemon subcommand', () => {
    const argv = parseProcCmdline('/usr/bin/docker\0daemon\0-s\0devicemapper\0');
    expect(argv).toEqual(['/usr/bin/docker', 'daemon', '-s', 'devicemapper']);
    expect(dockerdArgsOf(argv)).toEqual(['-s', 'devicemapper']);
    expect(dockerdArgsOf(['/usr/bin/dockerd', '-D'])).toEqual(['-D']);
  });
});

describe('shell words and environment files', () => {
  it('finds storage flags in a sysconfig value', () => {
    expect(storageFlagsInOptions('--selinux-enabled --storage-driver devicemapper --storage-opt "dm.fs=xfs"').map((f) => f.value)).toEqual([
      'devicemapper',
      'dm.fs=xfs',
    ]);
  });

  // systemd keeps a mid-value # in an EnvironmentFile value, and $OPTIONS hands it and what
  // follows to dockerd as words: the flag after it is in force (it was read as a comment).
  it('finds a storage flag after a # in a value: it reaches dockerd', () => {
    expect(storageFlagsInOptions('--selinux-enabled # -s devicemapper').map((f) => f.value)).toEqual(['devicemapper']);
  });

  it('parses environment files as systemd and sysconfig scripts write them', () => {
    const text = [
      '# comment',
      "OPTIONS='--selinux-enabled --log-driver=journald'",
      'DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper \\',
      '  --storage-opt dm.fs=xfs"',
      'export DOCKER_OPTS=--dns 8.8.8.8',
      '    DOCKER_CERT_PATH=/etc/docker',
      'if [ -z "${X}" ]; then',
      '; another comment',
      'EMPTY=',
    ].join('\r\n');
    const assignments = parseEnvironmentFile(text);
    expect(assignments).toEqual([
      { name: 'OPTIONS', value: '--selinux-enabled --log-driver=journald', line: 2 },
      { name: 'DOCKER_STORAGE_OPTIONS', value: '--storage-driver devicemapper   --storage-opt dm.fs=xfs', line: 3 },
      { name: 'DOCKER_OPTS', value: '--dns 8.8.8.8', line: 5 },
      { name: 'DOCKER_CERT_PATH', value: '/etc/docker', line: 6 },
      { name: 'EMPTY', value: '', line: 9 },
    ]);
    expect(environmentOf([...assignments, { name: 'OPTIONS', value: 'later', line: 10 }]).OPTIONS).toBe('later');
  });
});

describe('systemd units', () => {
  const unit = `[Unit]
Description=Docker

[Service]
EnvironmentFile=-/etc/sysconfig/docker
EnvironmentFile=-/etc/sysconfig/docker-storage
Environment=GOTRACEBACK=crash "DOCKER_OPTS=--debug"
ExecStart=/usr/bin/dockerd-current \\
          --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current \\
          $OPTIONS \\
          \${EXTRA}x \\
          $DOCKER_STORAGE_OPTIONS
`;

  it('joins continuation lines and collects environment files', () => {
    const command = serviceCommand([{ path: '/usr/lib/systemd/system/docker.service', text: unit }]);
    expect(command.source).toEqual({ path: '/usr/lib/systemd/system/docker.service', line: 8 });
    expect(command.environmentFiles).toEqual([
      { path: '/etc/sysconfig/docker', optional: true },
      { path: '/etc/sysconfig/docker-storage', optional: true },
    ]);
    expect(command.environment).toEqual({ GOTRACEBACK: 'crash', DOCKER_OPTS: '--debug' });
    expect(referencedVariables(command.execStart!)).toEqual(['OPTIONS', 'EXTRA', 'DOCKER_STORAGE_OPTIONS']);
  });

  it('expands $VAR into words and ${VAR} inside a word, like systemd', () => {
    const command = serviceCommand([{ path: 'u', text: unit }]);
    const argv = execStartArgv(command.execStart!, {
      OPTIONS: '--selinux-enabled  --log-driver=journald',
      DOCKER_STORAGE_OPTIONS: '--storage-driver devicemapper',
      EXTRA: 'y',
    });
    expect(argv).toEqual([
      '/usr/bin/dockerd-current',
      '--add-runtime',
      'docker-runc=/usr/libexec/docker/docker-runc-current',
      '--selinux-enabled',
      '--log-driver=journald',
      'yx',
      '--storage-driver',
      'devicemapper',
    ]);
    expect(execStartArgv('-/usr/bin/dockerd "$OPTIONS" $UNSET', { OPTIONS: 'a b' })).toEqual(['/usr/bin/dockerd', '$OPTIONS']);
  });

  it('lets a drop-in reset ExecStart with an empty assignment', () => {
    const command = serviceCommand([
      { path: '/lib/systemd/system/docker.service', text: '[Service]\nExecStart=/usr/bin/dockerd -H fd://\n' },
      { path: '/etc/systemd/system/docker.service.d/a.conf', text: '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -s devicemapper\n' },
      { path: '/etc/systemd/system/docker.service.d/b.conf', text: '[Service]\nEnvironment=A=1\n' },
    ]);
    expect(command.execStart).toBe('/usr/bin/dockerd -s devicemapper');
    expect(command.source).toEqual({ path: '/etc/systemd/system/docker.service.d/a.conf', line: 3 });
    const reset = serviceCommand([
      { path: 'u', text: '[Service]\nExecStart=/usr/bin/dockerd\n' },
      { path: 'd', text: '[Service]\nExecStart=\n' },
    ]);
    expect(reset.execStart).toBeUndefined();
  });

  it('ignores ExecStart outside [Service]', () => {
    expect(serviceCommand([{ path: 'u', text: '[Unit]\nExecStart=/bin/false\n' }]).execStart).toBeUndefined();
  });
});
