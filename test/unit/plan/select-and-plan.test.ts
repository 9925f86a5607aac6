import { describe, expect, it } from 'vitest';
import type { ContainerRecord, ImageRecord, Inventory, VolumeRecord } from '../../../src/docker/types.js';
import { registryTargetRef, untaggedTargetRef } from '../../../src/docker/images.js';
import { buildPlan, CONTAINER_LOGS_NOTE, plannedStep, stepActions, type PlanAnswers, type PlanFacts } from '../../../src/plan/plan.js';
import { selectInventory } from '../../../src/plan/select.js';

const image = (id: string, tags: string[]): ImageRecord => ({ id, tags, repoDigests: [], size: 1, created: '', dangling: tags.length === 0 });
const volume = (name: string): VolumeRecord => ({
  name, driver: 'local', options: {}, labels: {}, mountpoint: `/var/lib/docker/volumes/${name}/_data`,
  scope: 'local', size: 1, usedBy: [], anonymous: false, remote: false,
});
const container = (name: string, imageId: string, volumes: string[] = [], running = true): ContainerRecord => ({
  id: `${name}-id`, name, image: 'x', imageId, state: running ? 'running' : 'exited', running, autoRemove: false,
  restartPolicy: { name: 'no', maximumRetryCount: 0 },
  mounts: volumes.map((v) => ({ type: 'volume', name: v, source: '', destination: `/${v}`, mode: '', rw: true })),
  networkMode: 'bridge', networks: [], links: [], volumesFrom: [], sizeRw: 0, labels: {},
});

const inventory: Inventory = {
  capturedAt: '',
  daemon: {
    serverVersion: '20.10.24', apiVersion: '1.41', driver: 'devicemapper', driverStatus: [], dockerRootDir: '/var/lib/docker',
    liveRestore: false, swarmState: 'inactive', kernelVersion: '', operatingSystem: '', securityOptions: [],
    containers: { total: 2, running: 1, paused: 0, stopped: 1 }, images: 3,
  },
  images: [image('sha256:aaa', ['app/web:1.0', 'app/web:latest']), image('sha256:bbb', ['tools/debug:1']), image('sha256:ccc', [])],
  containers: [container('web', 'sha256:aaa', ['data']), container('debug', 'sha256:bbb', [], false)],
  volumes: [volume('data'), volume('scratch')],
  networks: [],
};

const ALL = { include: ['*'], exclude: [] as string[] };

describe('selection', () => {
  it('takes everything by default, untagged images included', () => {
    const s = selectInventory(inventory, { images: ALL, containers: ALL, volumes: ALL });
    expect(s.images.map((i) => i.id)).toEqual(['sha256:aaa', 'sha256:bbb', 'sha256:ccc']);
    expect(s.notes).toEqual([]);
  });

  it('matches images by any tag, and keeps what an included container needs, saying why', () => {
    const s = selectInventory(inventory, {
      images: { include: ['tools/*'], exclude: [] },
      containers: { include: ['*'], exclude: ['debug'] },
      volumes: { include: [], exclude: ['*'] },
    });
    expect(s.containers.map((c) => c.name)).toEqual(['web']);
    expect(s.images.map((i) => i.id)).toEqual(['sha256:aaa', 'sha256:bbb']);
    expect(s.volumes.map((v) => v.name)).toEqual(['data']);
    expect(s.notes).toEqual(['image app/web:1.0 kept: container web uses it', 'volume data kept: container web mounts it']);
  });
});

describe('plan', () => {
  const answers: PlanAnswers = {
    target: 'overlay2', images: { save: true, push: false }, containers: { keepWritableLayer: true },
    volumes: { archive: false }, backup: { dataRoot: 'move', directory: '/var/lib/devmapper-migrate' },
    service: { manager: 'systemd' },
  };
  const facts: PlanFacts = {
    dataRoot: '/var/lib/docker', daemonConfigPath: '/etc/docker/daemon.json', runDir: '/state/runs/r1', archiveDir: '/state/runs/r1',
    stopCommands: ['systemctl stop docker.socket docker.service'], startCommands: ['systemctl start docker.service'],
    flagEdits: [{ path: '/etc/sysconfig/docker-storage', kind: 'environment-file', removes: ['--storage-driver devicemapper'] }], thinPool: { vg: 'dmmigrate_r1', pool: 'thinpool', tag: 'devmapper-migrate-run-r1', commands: [{ argv: ['pvcreate', '-y', '/dev/sdb'], why: 'Make /dev/sdb an LVM physical volume' }] },
  };

  it('exports before anything stops, and stops before the cutover', () => {
    const plan = buildPlan(inventory, selectInventory(inventory, { images: ALL, containers: ALL, volumes: ALL }), answers, facts);
    const ids = plan.steps.map((s) => s.id);
    expect(ids.indexOf('save-images')).toBeLessThan(ids.indexOf('stop-containers'));
    expect(ids.indexOf('stop-containers')).toBeLessThan(ids.indexOf('stop-daemon'));
    expect(ids).not.toContain('build-thin-pool');
    expect(plan.steps.find((s) => s.id === 'save-images')!.downtime).toBe(false);
    const actions = plan.steps.flatMap((s) => s.actions).join('\n');
    expect(actions).toContain('GET /images/get?names=app/web:1.0&names=app/web:latest → /state/runs/r1/images/aaa.tar');
    expect(actions).toContain('edit /etc/sysconfig/docker-storage: remove --storage-driver devicemapper');
    expect(actions).toContain('systemctl stop docker.socket docker.service');
    expect(plan.notes).toContain(CONTAINER_LOGS_NOTE);
    expect(CONTAINER_LOGS_NOTE).toMatch(/^containers' logs are not carried: `docker logs` of a recreated container starts empty/);
  });

  it('says nothing about logs when no container is carried', () => {
    const plan = buildPlan(inventory, selectInventory(inventory, { images: ALL, containers: { include: ['*'], exclude: ['*'] }, volumes: ALL }), answers, facts);
    expect(plan.steps.find((s) => s.id === 'create-containers')?.actions ?? []).toEqual([]);
    expect(plan.notes).not.toContain(CONTAINER_LOGS_NOTE);
  });

  it('stops a running container left out of the run that mounts a carried volume, before the volumes are read, and does not start it on the target', () => {
    const host: Inventory = { ...inventory, containers: [...inventory.containers, container('sidecar', 'sha256:bbb', ['data', 'scratch']), container('other', 'sha256:bbb', ['scratch'])] };
    const selection = selectInventory(host, { images: ALL, containers: { include: ['*'], exclude: ['sidecar', 'other'] }, volumes: { include: ['data'], exclude: [] } });
    const plan = buildPlan(host, selection, { ...answers, volumes: { archive: true } }, facts);
    const step = (id: string) => plan.steps.find((s) => s.id === id)!;
    expect(step('stop-containers').actions).toEqual(['POST /containers/sidecar/stop (wave 1)', 'POST /containers/web/stop (wave 2)']);
    expect(step('start-containers').actions).toEqual(['POST /containers/web/start']);
    expect(plan.notes).toContain('container sidecar is not migrated but mounts data: it is stopped with the others while the volumes are read (a rollback starts it again)');
  });

  it('unpauses a paused container before its stop, and pauses it again after its start on the target', () => {
    const host: Inventory = { ...inventory, containers: [...inventory.containers, { ...container('cache', 'sha256:bbb'), state: 'paused' }] };
    const plan = buildPlan(host, selectInventory(host, { images: ALL, containers: ALL, volumes: ALL }), answers, facts);
    const step = (id: string) => plan.steps.find((s) => s.id === id)!;
    expect(step('stop-containers').actions).toEqual(expect.arrayContaining(['POST /containers/cache/unpause', 'POST /containers/cache/stop']));
    expect(step('stop-containers').actions.indexOf('POST /containers/cache/unpause')).toBe(step('stop-containers').actions.indexOf('POST /containers/cache/stop') - 1);
    expect(step('start-containers').actions).toEqual(expect.arrayContaining(['POST /containers/cache/start', 'POST /containers/cache/pause']));
    // The step starts every container first (in dependency order), then pauses the paused ones.
    expect(step('start-containers').actions.indexOf('POST /containers/cache/pause')).toBeGreaterThan(step('start-containers').actions.indexOf('POST /containers/cache/start'));
  });

  it('builds the pool only for a direct-lvm target, after the config and before the start', () => {
    const plan = buildPlan(inventory, selectInventory(inventory, { images: ALL, containers: ALL, volumes: ALL }),
      { ...answers, target: 'direct-lvm', directLvm: { device: '/dev/sdb' } }, facts);
    const ids = plan.steps.map((s) => s.id);
    expect(ids.indexOf('build-thin-pool')).toBeGreaterThan(ids.indexOf('rewrite-config'));
    expect(ids.indexOf('build-thin-pool')).toBeLessThan(ids.indexOf('start-daemon'));
    expect(plan.steps.find((s) => s.id === 'build-thin-pool')!.actions).toEqual(['$ pvcreate -y /dev/sdb']);
  });

  const everything = () => selectInventory(inventory, { images: ALL, containers: ALL, volumes: ALL });
  const pushOnly: PlanAnswers = { ...answers, images: { save: false, push: true }, registry: { address: 'reg.example:5000', repositoryPrefix: 'moved/' } };

  it('restores a push-only run by pulling each image from where it was pushed, and says so', () => {
    const plan = buildPlan(inventory, everything(), pushOnly, facts);
    const load = plannedStep(plan, 'load-images')!;
    expect(load.params.images.map((i) => (i.from === 'registry' ? i.ref : i.from))).toEqual([
      'reg.example:5000/moved/app/web:1.0',
      'reg.example:5000/moved/tools/debug:1',
      `reg.example:5000/moved/untagged:sha256-ccc`,
    ]);
    expect(load.actions.join('\n')).not.toContain('/images/load');
    expect(load.actions).toContain('POST /images/create?fromImage=reg.example:5000/moved/app/web&tag=1.0');
    expect(load.actions).toContain('POST /images/sha256:aaa/tag?repo=app/web&tag=latest');
    expect(load.actions).toContain('DELETE /images/reg.example:5000/moved/app/web:1.0');
  });

  it('pulls back exactly the references it pushed, built in one place', () => {
    const plan = buildPlan(inventory, everything(), pushOnly, facts);
    const pushed = plannedStep(plan, 'push-images')!.params.images.map((i) => i.refs);
    expect(pushed[0]).toEqual([
      { source: 'app/web:1.0', target: registryTargetRef({ address: 'reg.example:5000', repositoryPrefix: 'moved/' }, 'app/web:1.0') },
      { source: 'app/web:latest', target: 'reg.example:5000/moved/app/web:latest' },
    ]);
    expect(pushed[2]).toEqual([{ source: 'sha256:ccc', target: untaggedTargetRef({ address: 'reg.example:5000', repositoryPrefix: 'moved/' }, 'sha256:ccc') }]);
    const pulled = plannedStep(plan, 'load-images')!.params.images.map((i) => (i.from === 'registry' ? i.ref : undefined));
    expect(pulled).toEqual(pushed.map((refs) => refs[0]!.target));
  });

  it('loads from the archives when the images are saved as well as pushed', () => {
    const plan = buildPlan(inventory, everything(), { ...pushOnly, images: { save: true, push: true } }, facts);
    expect(plannedStep(plan, 'load-images')!.params.images.map((i) => i.from)).toEqual(['archive', 'archive', 'archive']);
    expect(plannedStep(plan, 'load-images')!.actions[0]).toBe('POST /images/load ← /state/runs/r1/images/aaa.tar (app/web:1.0)');
  });

  it('prints exactly what the parameters say: the actions are rendered from them', () => {
    const plan = buildPlan(inventory, everything(), pushOnly, facts);
    for (const step of plan.steps) expect(step.actions, step.id).toEqual(stepActions(step.params));
    expect(plan.steps.map((s) => s.params.id)).toEqual(plan.steps.map((s) => s.id));
  });

  it('creates and starts containers after those they depend on, and stops them the other way round', () => {
    const orderable = [
      { name: 'web', networkMode: 'container:debug' },
      { name: 'debug' },
    ];
    const running = { ...inventory, containers: inventory.containers.map((c) => ({ ...c, running: true })) };
    const plan = buildPlan(running, selectInventory(running, { images: ALL, containers: ALL, volumes: ALL }), answers, { ...facts, orderable });
    expect(plannedStep(plan, 'create-containers')!.params.containers.map((c) => c.name)).toEqual(['debug', 'web']);
    expect(plannedStep(plan, 'start-containers')!.params.containers).toEqual(['debug', 'web']);
    expect(plannedStep(plan, 'stop-containers')!.params.waves).toEqual([['web'], ['debug']]);
  });
});
