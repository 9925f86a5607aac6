import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compareApiVersions,
  containerCreateSpec,
  generatedMac,
  mergeImageConfig,
  normalizeLink,
  sameValue,
  type ContainerConfig,
  type ContainerInspect,
  type CreateSpecOptions,
} from '../../../src/docker/create-spec.js';
import { OperatorError } from '../../../src/errors.js';
import { copyJson } from '../../../src/json-copy.js';

// Real inspect output of Debian's dockerd 20.10 (API 1.41); see test/fixtures/inspect/capture.ts.
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/inspect/dockerd-20.10.json', import.meta.url), 'utf8')) as {
  capturedWith: { apiVersion: string; hostname: string };
  containers: Record<string, ContainerInspect>;
  images: Record<string, { Id: string; Config: ContainerConfig }>;
};

const inspectOf = (name: string): ContainerInspect => copyJson(fixture.containers[name] as ContainerInspect);
const imageOf = (inspect: ContainerInspect) => Object.values(fixture.images).find((image) => image.Id === inspect.Image) as { Id: string; Config: ContainerConfig };
const names: Record<string, string> = Object.fromEntries(Object.values(fixture.containers).map((c) => [c.Id, c.Name.slice(1)]));
const spec = (name: string, options: Partial<CreateSpecOptions> = {}, inspect = inspectOf(name)) =>
  containerCreateSpec(inspect, { apiVersion: '1.41', containerNames: names, ...options });
const withImage = (name: string, options: Partial<CreateSpecOptions> = {}) => {
  const inspect = inspectOf(name);
  return containerCreateSpec(inspect, { apiVersion: '1.41', containerNames: names, imageInspect: imageOf(inspect), ...options });
};

describe('containerCreateSpec: identity and image', () => {
  it('names the container without the leading slash', () => {
    expect(spec('web').name).toBe('web');
  });

  it('creates from the reference the user gave', () => {
    expect(spec('web').body.Image).toBe('fx/app:1');
    expect(spec('web', { tagNowPointsTo: inspectOf('web').Image }).body.Image).toBe('fx/app:1');
  });

  it('creates by image ID when the tag has moved, and says so', () => {
    const web = inspectOf('web');
    const result = spec('web', { tagNowPointsTo: 'sha256:' + 'f'.repeat(64) });
    expect(result.body.Image).toBe(web.Image);
    expect(result.notes.join('\n')).toMatch(/now points to sha256:f+: created from its own image ID/);
  });

  it('creates by image ID when the reference resolves to nothing (a digest reference lost by save/load)', () => {
    const result = spec('web', { tagNowPointsTo: null });
    expect(result.body.Image).toBe(inspectOf('web').Image);
    expect(result.notes.join('\n')).toMatch(/does not resolve/);
  });
});

describe('containerCreateSpec: Config', () => {
  it('drops a Hostname equal to the old short ID and an empty Domainname', () => {
    const web = inspectOf('web');
    expect(web.Config.Hostname).toBe(web.Id.slice(0, 12));
    const { body } = spec('web');
    expect(body).not.toHaveProperty('Hostname');
    expect(body).not.toHaveProperty('Domainname');
  });

  it('keeps a Hostname the user set', () => {
    expect(spec('app').body.Hostname).toBe('myhost');
  });

  it('drops the Hostname a container-mode container inherits (create would reject it)', () => {
    expect(inspectOf('sidecar').Config.Hostname).toBe('myhost');
    expect(spec('sidecar').body).not.toHaveProperty('Hostname');
    expect(spec('side').body).not.toHaveProperty('Hostname');
  });

  it("drops a host-network container's Hostname when it is the daemon's host name", () => {
    const hostname = fixture.capturedWith.hostname;
    expect(inspectOf('hostnet').Config.Hostname).toBe(hostname);
    expect(spec('hostnet', { daemonHostname: hostname }).body).not.toHaveProperty('Hostname');
    expect(spec('hostnet', { daemonHostname: 'elsewhere' }).body.Hostname).toBe(hostname);
  });

  it('keeps Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck as recorded without the image', () => {
    for (const name of ['web', 'app', 'two', 'epx']) {
      const inspect = inspectOf(name);
      const { body } = spec(name);
      for (const key of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'Tty', 'OpenStdin', 'AttachStdout'] as const) {
        expect(body[key], `${name}.${key}`).toEqual(inspect.Config[key]);
      }
    }
  });

  it("keeps Compose's labels", () => {
    expect(withImage('web').body.Labels).toEqual({ app: 'web', 'com.docker.compose.project': 'demo' });
  });

  it('drops ExposedPorts in container network mode (the image EXPOSE merged in; create rejects them there)', () => {
    expect(inspectOf('sidecar').Config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(spec('sidecar').body).not.toHaveProperty('ExposedPorts');
  });
});

describe('containerCreateSpec: values the image supplies', () => {
  it('leaves image-supplied Env, Labels, WorkingDir and Cmd to the image', () => {
    const { body } = withImage('web');
    expect(body.Env).toEqual(['FOO=bar']);
    expect(body.Labels).not.toHaveProperty('img.label');
    expect(body).not.toHaveProperty('WorkingDir');
    expect(body).not.toHaveProperty('Cmd');
    expect(body.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(body.Volumes).toEqual({ '/anon': {} });
  });

  it('keeps a user Env entry equal to the image value where the user put it (order kept)', () => {
    const inspect = inspectOf('envdup');
    expect(inspect.Config.Env?.slice(0, 2)).toEqual(['IMGVAR=fromimage', 'X=1']);
    expect(withImage('envdup').body.Env).toEqual(['IMGVAR=fromimage', 'X=1']);
  });

  it('keeps Cmd when the user replaced the Entrypoint, even if Cmd equals the image one', () => {
    const inspect = inspectOf('epx');
    const image = imageOf(inspect);
    expect(inspect.Config.Cmd).toEqual(image.Config.Cmd);
    const { body } = withImage('epx');
    expect(body.Entrypoint).toEqual(['/bin/echo']);
    expect(body.Cmd).toEqual(['sleep 3600']);
  });

  it('drops an Entrypoint equal to the image one but keeps a user Cmd', () => {
    const { body } = withImage('app');
    expect(body).not.toHaveProperty('Entrypoint');
    expect(body.Cmd).toEqual(['sleep 1000']);
    expect(body.WorkingDir).toBe('/tmp');
    expect(body).not.toHaveProperty('Healthcheck');
    expect(body).not.toHaveProperty('StopSignal');
    expect(body).not.toHaveProperty('ExposedPorts');
  });

  it("merges back into exactly the recorded Config for every captured container (the daemon's own merge rule)", () => {
    for (const name of Object.keys(fixture.containers)) {
      const inspect = inspectOf(name);
      const { body } = withImage(name);
      const merged = mergeImageConfig(body, imageOf(inspect).Config);
      for (const key of ['User', 'Env', 'Labels', 'Cmd', 'Entrypoint', 'WorkingDir', 'Volumes', 'StopSignal', 'Healthcheck'] as const) {
        expect(sameValue(merged[key], inspect.Config[key]), `${name}.${key}: ${JSON.stringify(merged[key])}`).toBe(true);
      }
      if (!inspect.HostConfig.NetworkMode?.startsWith('container:')) {
        expect(sameValue(merged.ExposedPorts, inspect.Config.ExposedPorts), `${name}.ExposedPorts`).toBe(true);
      }
    }
  });

  it('mergeImageConfig follows the daemon: no image Cmd under a user Entrypoint, user Env first', () => {
    const image: ContainerConfig = { Entrypoint: ['/e'], Cmd: ['c'], Env: ['A=1', 'B=2'] };
    expect(mergeImageConfig({ Entrypoint: ['/x'] }, image).Cmd).toBeUndefined();
    expect(mergeImageConfig({}, image).Cmd).toEqual(['c']);
    expect(mergeImageConfig({ Env: ['B=3', 'C=4'] }, image).Env).toEqual(['B=3', 'C=4', 'A=1']);
  });
});

describe('containerCreateSpec: HostConfig', () => {
  it('keeps port bindings, restart policy and memory', () => {
    const { HostConfig } = spec('web').body;
    expect(HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] });
    expect(HostConfig.RestartPolicy).toEqual({ Name: 'unless-stopped', MaximumRetryCount: 0 });
    expect(HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(HostConfig.Binds).toEqual(['data:/data']);
  });

  it('keeps resources, capabilities, security options, log config, dns, extra hosts, tmpfs, init, shm', () => {
    const { HostConfig } = spec('app').body;
    expect(HostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      PidsLimit: 50,
      Ulimits: [{ Name: 'nofile', Hard: 2048, Soft: 1024 }],
      CapAdd: ['NET_ADMIN'],
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      Dns: ['1.1.1.1'],
      ExtraHosts: ['foo:1.2.3.4'],
      Tmpfs: { '/run/x': 'size=1m' },
      Init: true,
      ShmSize: 64 * 1024 * 1024,
    });
  });

  it('keeps a RHEL runtime name (HostConfig.Runtime "docker-runc") as it is, as preflight says (engine-readiness.ts)', () => {
    const inspect = inspectOf('web');
    inspect.HostConfig.Runtime = 'docker-runc';
    expect(spec('web', {}, inspect).body.HostConfig.Runtime).toBe('docker-runc');
  });

  it('keeps auto-remove and bind mounts', () => {
    const { HostConfig } = spec('mnt').body;
    expect(HostConfig.AutoRemove).toBe(true);
    expect(HostConfig.Binds).toEqual(['/tmp:/hosttmp:ro']);
  });

  it("drops the daemon's default masked/read-only paths, ContainerIDFile and zero KernelMemory", () => {
    const { HostConfig } = spec('web').body;
    for (const key of ['MaskedPaths', 'ReadonlyPaths', 'ContainerIDFile', 'KernelMemory', 'KernelMemoryTCP']) expect(HostConfig).not.toHaveProperty(key);
  });

  it('keeps empty masked/read-only path lists (systempaths=unconfined)', () => {
    const inspect = inspectOf('web');
    inspect.HostConfig.MaskedPaths = [];
    inspect.HostConfig.ReadonlyPaths = [];
    const { HostConfig } = spec('web', {}, inspect).body;
    expect(HostConfig.MaskedPaths).toEqual([]);
    expect(HostConfig.ReadonlyPaths).toEqual([]);
  });

  it('rewrites container:<id> network, IPC and PID modes to the container name', () => {
    expect(spec('side').body.HostConfig.NetworkMode).toBe('container:web');
    const { HostConfig } = spec('sidecar').body;
    expect(HostConfig).toMatchObject({ NetworkMode: 'container:app', IpcMode: 'container:shr', PidMode: 'container:shr' });
  });

  it('refuses a container: reference to a container that is not being restored', () => {
    expect(() => spec('side', { containerNames: {} })).toThrow(OperatorError);
  });

  it('turns recorded links into name:alias', () => {
    expect(inspectOf('app').HostConfig.Links).toEqual(['/db:/app/database']);
    expect(spec('app').body.HostConfig.Links).toEqual(['db:database']);
    expect(normalizeLink('db:database')).toBe('db:database');
  });

  it('keeps volumes-from by name and maps an ID to the name', () => {
    expect(spec('app').body.HostConfig.VolumesFrom).toEqual(['db:ro']);
    const inspect = inspectOf('app');
    inspect.HostConfig.VolumesFrom = [`${inspectOf('db').Id.slice(0, 12)}:ro`];
    expect(spec('app', {}, inspect).body.HostConfig.VolumesFrom).toEqual(['db:ro']);
  });
});

describe('containerCreateSpec: anonymous volumes', () => {
  it('pins an anonymous -v volume to its old name', () => {
    const web = inspectOf('web');
    const anon = web.Mounts?.find((m) => m.Destination === '/anon');
    const result = spec('web');
    expect(result.body.HostConfig.Mounts).toEqual([{ Type: 'volume', Source: anon?.Name, Target: '/anon' }]);
    expect(result.notes.join('\n')).toMatch(/pinned to their old names/);
  });

  it('fills in the source of an anonymous --mount and leaves named ones alone', () => {
    const mnt = inspectOf('mnt');
    const anon = mnt.Mounts?.find((m) => m.Destination === '/m1')?.Name;
    const mounts = spec('mnt').body.HostConfig.Mounts ?? [];
    expect(mounts).toHaveLength(2);
    expect(mounts[0]).toEqual({ Type: 'volume', Source: anon, Target: '/m1' });
    expect(mounts[1]).toEqual(mnt.HostConfig.Mounts?.[1]);
  });

  it("pins the image's VOLUME too", () => {
    const db = inspectOf('db');
    const anon = db.Mounts?.find((m) => m.Destination === '/var/lib/app')?.Name;
    expect(spec('db').body.HostConfig.Mounts).toEqual([{ Type: 'volume', Source: anon, Target: '/var/lib/app' }]);
  });

  it('leaves volumes that come through --volumes-from to VolumesFrom, or pins them read-only when unknown', () => {
    const app = inspectOf('app');
    const fromDb = app.Mounts?.find((m) => m.Destination === '/var/lib/app');
    expect(spec('app', { volumesFromVolumes: [fromDb?.Name as string] }).body.HostConfig.Mounts ?? null).toBeNull();
    expect(spec('app').body.HostConfig.Mounts).toEqual([{ Type: 'volume', Source: fromDb?.Name, Target: '/var/lib/app', ReadOnly: true }]);
  });
});

describe('containerCreateSpec: networks', () => {
  it('keeps the static address and user aliases; drops the short-ID alias, endpoint ID, dynamic address and generated MAC', () => {
    const web = inspectOf('web');
    const endpoint = web.NetworkSettings?.Networks?.appnet;
    expect(endpoint?.Aliases).toContain(web.Id.slice(0, 12));
    expect(endpoint?.MacAddress).toBe(generatedMac(endpoint?.IPAddress));
    const { body, extraNetworks } = spec('web');
    expect(body.HostConfig.NetworkMode).toBe('appnet');
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { appnet: { IPAMConfig: { IPv4Address: endpoint?.IPAMConfig?.IPv4Address }, Aliases: ['www'] } } });
    expect(extraNetworks).toEqual([]);
    expect(body).not.toHaveProperty('MacAddress');
  });

  it('API < 1.44: one network at create, the others to connect one by one', () => {
    const { body, extraNetworks } = spec('two');
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { appnet: {} } });
    expect(extraNetworks).toEqual([{ name: 'back', endpointConfig: { Aliases: ['backtwo'] } }]);
  });

  it('API >= 1.44: every network at create', () => {
    const { body, extraNetworks } = spec('two', { apiVersion: '1.44' });
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { appnet: {}, back: { Aliases: ['backtwo'] } } });
    expect(extraNetworks).toEqual([]);
  });

  it('passes no networking config for the default bridge, host and container modes', () => {
    for (const name of ['stopped', 'never', 'hostnet', 'side']) expect(spec(name).body, name).not.toHaveProperty('NetworkingConfig');
  });

  it('keeps a user MAC: container-level before API 1.44, on the endpoint from 1.44', () => {
    expect(spec('app').body.MacAddress).toBe('02:11:22:33:44:55');
    const modern = spec('app', { apiVersion: '1.44' }).body;
    expect(modern).not.toHaveProperty('MacAddress');
    expect(modern.NetworkingConfig?.EndpointsConfig.bridge?.MacAddress).toBe('02:11:22:33:44:55');
  });

  it('keeps a per-endpoint MAC recorded by an API 1.44 engine, and says when an older API cannot set it', () => {
    const inspect = inspectOf('two');
    const back = inspect.NetworkSettings?.Networks?.back as NonNullable<ContainerInspect['NetworkSettings']>['Networks'] extends infer N ? N extends Record<string, infer E> ? E : never : never;
    back.MacAddress = '0a:00:00:00:00:01';
    back.DNSNames = ['two', inspect.Id.slice(0, 12), 'backtwo'];
    const modern = spec('two', { apiVersion: '1.45' }, copyJson(inspect));
    expect(modern.body.NetworkingConfig?.EndpointsConfig.back).toEqual({ Aliases: ['backtwo'], MacAddress: '0a:00:00:00:00:01' });
    const old = spec('two', {}, copyJson(inspect));
    expect(old.extraNetworks[0]?.endpointConfig).toEqual({ Aliases: ['backtwo'] });
    expect(old.notes.join('\n')).toMatch(/MAC address 0a:00:00:00:00:01 on network back cannot be set/);
  });

  it('turns a network ID given as network mode into the network name', () => {
    const inspect = inspectOf('web');
    inspect.HostConfig.NetworkMode = inspect.NetworkSettings?.Networks?.appnet?.NetworkID;
    expect(spec('web', {}, inspect).body.HostConfig.NetworkMode).toBe('appnet');
  });
});

describe('helpers', () => {
  it('compares API versions numerically', () => {
    expect(compareApiVersions('1.41', '1.44')).toBeLessThan(0);
    expect(compareApiVersions('v1.44', '1.44')).toBe(0);
    expect(compareApiVersions('1.100', '1.44')).toBeGreaterThan(0);
  });

  it("derives libnetwork's MAC from an IPv4 address", () => {
    expect(generatedMac('172.30.0.10')).toBe('02:42:ac:1e:00:0a');
    expect(generatedMac('')).toBeUndefined();
  });
});
