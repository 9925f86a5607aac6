// Pre-staging's decision (src/plan/staging.ts) and what the plan makes of it: where it runs,
// why not (the plan's note is a claim the run then keeps), and the cutover without image loads.
import { describe, expect, it } from 'vitest';
import type { ImageRecord, Inventory } from '../../../src/docker/types.js';
import { buildPlan, plannedStep, type PlanAnswers, type PlanFacts } from '../../../src/plan/plan.js';
import { selectInventory } from '../../../src/plan/select.js';
import { decideStaging, stagingNote, type StagingInput } from '../../../src/plan/staging.js';

const input: StagingInput = {
  answer: 'auto', target: 'overlay2', imagesSaved: true, imageCount: 2, dockerd: '/usr/bin/dockerd', dataRoot: '/var/lib/docker',
  dataRootIsMountPoint: false, freeBytes: 10 * 1024 ** 3, layersBytes: 1024 ** 3, loadScratchBytes: 512 * 1024 ** 2, runId: '20261207-063000-ab12', runtimeBase: '/run/devmapper-migrate',
};

describe('decideStaging', () => {
  it('stages beside the data-root, or inside it when it is a mount point, with a runtime dir per run', () => {
    expect(decideStaging(input)).toEqual({
      staged: true, dockerd: '/usr/bin/dockerd', stagedRoot: '/var/lib/docker.devmapper-migrate-20261207-063000-ab12-staged', runtimeDir: '/run/devmapper-migrate/20261207-063000-ab12',
    });
    expect(decideStaging({ ...input, dataRootIsMountPoint: true })).toMatchObject({ stagedRoot: '/var/lib/docker/.devmapper-migrate-20261207-063000-ab12-staged' });
  });

  it('says why not where it cannot work', () => {
    const why = (change: Partial<StagingInput>) => {
      const decision = decideStaging({ ...input, ...change });
      return decision.staged ? 'staged' : decision.reason;
    };
    expect(why({ answer: 'off' })).toBe('staging: off in the answers');
    expect(why({ target: 'direct-lvm' })).toMatch(/thin pool is only built at the cutover/);
    expect(why({ imagesSaved: false })).toMatch(/images.save is off/);
    expect(why({ imageCount: 0 })).toBe('there are no images to load');
    expect(why({ dockerd: undefined })).toMatch(/dockerd’s program was not found/);
    expect(why({ freeBytes: 512 * 1024 ** 2 })).toBe('the data-root’s filesystem has 0.5 GiB free and, while the old data-root is still in use, a second copy of the images needs about 1.0 GiB and their loads 0.5 GiB more (the daemon unpacks each archive before it applies it)');
    // The layers fit, the archives the daemon unpacks to load them do not.
    expect(why({ freeBytes: 1.25 * 1024 ** 3 })).toMatch(/has 1\.3 GiB free .* their loads 0\.5 GiB more/);
    expect(why({ freeBytes: undefined })).toBe('staged');
  });
});

const image = (id: string, tags: string[]): ImageRecord => ({ id, tags, repoDigests: [], size: 1, created: '', dangling: tags.length === 0 });
const inventory: Inventory = {
  capturedAt: '',
  daemon: {
    serverVersion: '20.10.24', apiVersion: '1.41', driver: 'devicemapper', driverStatus: [], dockerRootDir: '/var/lib/docker',
    liveRestore: false, swarmState: 'inactive', kernelVersion: '', operatingSystem: '', securityOptions: [],
    containers: { total: 0, running: 0, paused: 0, stopped: 0 }, images: 2,
  },
  images: [image('sha256:aaa', ['app/web:1.0']), image('sha256:bbb', [])],
  containers: [],
  volumes: [],
  networks: [],
};
const ALL = { include: ['*'], exclude: [] as string[] };
const answers: PlanAnswers = {
  target: 'overlay2', images: { save: true, push: false }, containers: { keepWritableLayer: true },
  volumes: { archive: false }, backup: { dataRoot: 'move', directory: '/state' }, service: { manager: 'systemd' },
};
const facts: PlanFacts = {
  dataRoot: '/var/lib/docker', runId: 'r1', daemonConfigPath: '/etc/docker/daemon.json', runDir: '/state/runs/r1', archiveDir: '/state/runs/r1',
  stopCommands: ['systemctl stop docker'], startCommands: ['systemctl start docker'], flagEdits: [],
};
const selection = selectInventory(inventory, { images: ALL, containers: ALL, volumes: ALL });

describe('the plan with pre-staging', () => {
  const staging = decideStaging({ ...input, runId: 'r1' });
  const withCommands = { ...staging, commands: { start: "sh -c 'start'", stop: "sh -c 'stop'" } } as typeof staging;

  it('stages before the stop, renames the staged root into place after the old one is kept, and loads no image in the window', () => {
    const plan = buildPlan(inventory, selection, answers, { ...facts, staging: withCommands });
    const ids = plan.steps.map((s) => s.id);
    expect(ids.indexOf('save-images')).toBeLessThan(ids.indexOf('stage-images'));
    expect(ids.indexOf('stage-images')).toBeLessThan(ids.indexOf('stop-containers'));
    expect(ids.slice(ids.indexOf('keep-data-root'), ids.indexOf('keep-data-root') + 3)).toEqual(['keep-data-root', 'place-staged-root', 'carry-volumes']);
    const stage = plannedStep(plan, 'stage-images')!;
    expect(stage.downtime).toBe(false);
    expect(stage.params.images.map((i) => i.archive)).toEqual(plannedStep(plan, 'save-images')!.params.images.map((i) => i.archive));
    expect(stage.actions).toContain("$ sh -c 'start'");
    const load = plannedStep(plan, 'load-images')!;
    expect(load.params.staged).toBe(true);
    expect(load.title).toBe('Check the 2 staged image(s)');
    expect(load.actions.every((a) => a.startsWith('GET ') || a.includes('— only if the staged data-root lacks it'))).toBe(true);
    expect(plan.notes).toContain(stagingNote(withCommands));
  });

  it('is today’s plan, with the reason in its notes, where staging cannot work', () => {
    const refused = decideStaging({ ...input, target: 'direct-lvm' });
    const plan = buildPlan(inventory, selection, answers, { ...facts, staging: refused });
    const unstaged = buildPlan(inventory, selection, answers, facts);
    expect(plan.steps).toEqual(unstaged.steps);
    expect(plan.notes).toContain('pre-staging is not done (the direct-lvm thin pool is only built at the cutover, so there is nothing to stage the images into before the stop): the images are loaded after Docker restarts, inside the downtime');
  });
});

describe('the start waves (the window’s last step)', () => {
  const running = (name: string, networkMode = 'bridge') => ({
    id: `${name}-id`, name, image: 'x', imageId: 'sha256:aaa', state: 'running', running: true, autoRemove: false,
    restartPolicy: { name: 'no', maximumRetryCount: 0 }, mounts: [], networkMode, networks: [], links: [], volumesFrom: [], sizeRw: 0, labels: {},
  });
  it('starts what nothing depends on at once, and a container after the one whose network it shares', () => {
    const host = { ...inventory, containers: [running('web'), running('db'), running('side', 'container:web'), { ...running('off'), state: 'exited', running: false }] };
    const plan = buildPlan(host, selectInventory(host, { images: ALL, containers: ALL, volumes: ALL }), answers, facts);
    const start = plannedStep(plan, 'start-containers')!;
    expect(start.params.waves).toEqual([['db', 'web'], ['side']]);
    expect(start.actions).toEqual(['POST /containers/db/start (wave 1)', 'POST /containers/web/start (wave 1)', 'POST /containers/side/start (wave 2)']);
  });
});
