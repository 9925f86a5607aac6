import { imageArchiveFileName, imageLabel, imageSaveNames, registryTargetRef, untaggedTargetRef } from '../docker/images.js';
import { repoAndTagOf } from '../docker/image-ref.js';
import { keepsFilesOnHost, type ContainerRecord, type ImageRecord, type Inventory } from '../docker/types.js';
import type { Phase } from './phases.js';
import { formatPoolCommand, type PoolCommand } from './direct-lvm.js';
import { startOrder, startWaves, stopWaves, type OrderableContainer } from './container-order.js';
import type { Selection } from './select.js';
import { excludedVolumeUsers } from '../record/selection.js';
import { stagingNote, type StagingDecision } from './staging.js';

/** What the plan needs from the resolved answers (a structural subset of them). */
export interface PlanAnswers {
  target: 'overlay2' | 'direct-lvm';
  directLvm?: { device: string };
  images: { save: boolean; push: boolean };
  registry?: { address?: string; repositoryPrefix?: string };
  containers: { keepWritableLayer: boolean };
  volumes: { archive: boolean };
  backup: { dataRoot: 'move' | 'archive' | 'move+archive'; directory: string };
  service: { manager: string; stop?: string; start?: string };
}

/** Host facts the plan needs; gathered before planning. */
export interface PlanFacts {
  dataRoot: string;
  /** The run's id when known (not in --dry-run). */
  runId?: string;
  daemonConfigPath: string;
  runDir: string;
  /** Where image, layer and volume archives go (the run directory, or one under backup.directory). */
  archiveDir: string;
  /** Commands that will stop and start the daemon, as the service manager will run them. */
  stopCommands: string[];
  startCommands: string[];
  /** Files whose storage flags will be edited (drop-ins, sysconfig), with the flags removed. */
  flagEdits: PlannedFlagEdit[];
  /** The run's direct-lvm pool (named and tagged after the run) and the commands that build it, in order, when the target is direct-lvm. */
  thinPool?: ThinPool;
  /**
   * How the selected containers depend on each other (from their inspects: `container:` modes,
   * links, volumes-from); without it, from the inventory's records (no IPC or PID modes).
   */
  orderable?: OrderableContainer[];
  /** Pre-staging: where and with which dockerd, or why not (absent: not decided, as without staging). */
  staging?: StagingDecision;
  /** Rescue mode: the legacy dockerd the export reads through, which stop-daemon stops. */
  rescue?: RescuePlanFacts;
}

/** The legacy side daemon of a rescue (src/run/rescue.ts), as the plan shows it. */
export interface RescuePlanFacts {
  dockerd: string;
  version: string;
  /** Its socket: unix://…/docker.sock. */
  dockerHost: string;
  /** The shell line that stops it by its pid file. */
  stopCommand: string;
}

/** The run's thin pool: its volume group, pool and LVM tag, and the commands that build it, in order. */
export interface ThinPool {
  vg: string;
  pool: string;
  tag: string;
  commands: PoolCommand[];
}

/**
 * A file whose storage flags rewrite-config edits, and what kind it is. A `systemd-unit` (the
 * vendor's) is overridden by the run's own drop-in; `storage-setup` is docker-storage-setup's
 * settings file, whose STORAGE_DRIVER is emptied. `action` replaces the printed default
 * "remove <removes>".
 */
export interface PlannedFlagEdit {
  path: string;
  kind: 'systemd-unit' | 'systemd-drop-in' | 'environment-file' | 'storage-setup';
  variable?: string;
  removes: string[];
  action?: string;
}

/** One image saved to its archive: `GET /images/get?names=…` → `archive`. */
export interface ImageSave {
  imageId: string;
  label: string;
  /** What the save asks for: every tag, or the ID of an untagged image. */
  names: string[];
  archive: string;
}

/** One image pushed: each of its tags (or, untagged, its ID) under its registry name, one after the other. */
export interface ImagePush {
  imageId: string;
  label: string;
  untagged: boolean;
  refs: { source: string; target: string }[];
}

/** How one image comes back on the target: loaded from its archive, or pulled from where it was pushed. */
export type ImageRestore = { imageId: string; label: string; tags: string[] } & ({ from: 'archive'; archive: string } | { from: 'registry'; ref: string });

export interface ContainerCreate {
  name: string;
  image: string;
  /** Networks connected one by one after the create (API 1.41 takes one network at create). */
  connects: string[];
  /** The kept writable layer put back into it, when the answers keep them. */
  layerArchive?: string;
}

/** Each step's parameters, by step id: what the step executes and what `--dry-run` prints. */
export type StepParams =
  | { id: 'record-inventory'; containers: string[] }
  | { id: 'save-images'; images: ImageSave[] }
  | { id: 'push-images'; registry: string; images: ImagePush[] }
  /** Pre-staging: a private dockerd (`dockerd`) on `stagedRoot` loads every saved image, then stops. */
  | {
    id: 'stage-images';
    dockerd: string;
    /** The data-root the staged root will replace: its mode and SELinux label are the staged root's. */
    dataRoot: string;
    stagedRoot: string;
    runtimeDir: string;
    driver: 'overlay2';
    /** Its start and stop as run.log shows them. */
    commands: { start: string; stop: string };
    images: { imageId: string; label: string; archive: string }[];
  }
  /** `unpause`: the paused ones among them (engines before 17.07 refuse to stop a paused container). */
  | { id: 'stop-containers'; waves: string[][]; leftOut: { name: string; volumes: string[] }[]; unpause: string[] }
  | { id: 'save-writable-layers'; containers: { name: string; archive: string }[] }
  | { id: 'record-volumes'; volumes: { name: string; mountpoint: string }[]; content: boolean }
  | { id: 'archive-volumes'; volumes: { name: string; mountpoint: string; archive: string }[] }
  /** `side`: rescue mode, the legacy side daemon is the one stopped (the installed engine is stopped already). */
  | { id: 'stop-daemon'; commands: string[]; bridges: string[]; side?: string }
  | { id: 'keep-data-root'; dataRoot: string; keptPath: string; archive?: string; move: boolean }
  | { id: 'carry-volumes'; from: string; to: string }
  | { id: 'place-staged-root'; from: string; to: string }
  /** `devicemapper` gets the run's thin pool (dm.thinpooldev). */
  | { id: 'rewrite-config'; configPath: string; backupDir: string; driver: 'overlay2' | 'devicemapper'; flagEdits: PlannedFlagEdit[] }
  | ({ id: 'build-thin-pool'; device: string } & ThinPool)
  | { id: 'start-daemon'; commands: string[]; driver: string }
  /** `staged`: the images are in the staged data-root already; only one it lacks is loaded. */
  | { id: 'load-images'; images: ImageRestore[]; staged?: boolean }
  | { id: 'create-networks'; networks: { name: string; driver: string }[] }
  | { id: 'create-volumes'; volumes: string[] }
  | { id: 'create-containers'; containers: ContainerCreate[] }
  | { id: 'check-volumes'; volumes: string[] }
  /** `pause`: those paused when the run began, paused again once they run. */
  /** `waves`: started a wave at once, dependencies in earlier waves (the stop waves reversed); absent in older plans: `containers` one by one. */
  | { id: 'start-containers'; containers: string[]; pause: string[]; waves?: string[][] }
  | { id: 'verify' };

export type StepId = StepParams['id'];

export interface PlannedStep<P extends StepParams = StepParams> {
  id: P['id'];
  phase: Phase;
  title: string;
  /** Containers are stopped while this step runs. */
  downtime: boolean;
  /** What the step executes (the steps read these from plan.json, never derive them again). */
  params: P;
  /**
   * Every Docker API call, host command and file change the step will make, in order; rendered
   * from `params` by `stepActions`. Lines "METHOD /path" are API calls, lines "$ …" host
   * commands; " — only if …" ends one that depends on what the step finds.
   */
  actions: string[];
}

export interface Plan {
  target: PlanAnswers['target'];
  steps: PlannedStep[];
  notes: string[];
}

/** The parameters of the step `id`, typed by it. */
export type ParamsOf<I extends StepId> = Extract<StepParams, { id: I }>;

/** The planned step `id` of a plan, or undefined when the plan has no such step (or was written before steps had parameters). */
export function plannedStep<I extends StepId>(plan: Pick<Plan, 'steps'>, id: I): PlannedStep<ParamsOf<I>> | undefined {
  const step = plan.steps.find((s) => s.id === id);
  return step?.params?.id === id ? (step as PlannedStep<ParamsOf<I>>) : undefined;
}

const query = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${v}`).join('&');

/**
 * The API calls that remove a tag the run added and keep the image: an image whose only name
 * it is must be held by a child image meanwhile (src/docker/images.ts removeTemporaryTag).
 */
function temporaryTagRemoval(ref: string, only: boolean): string[] {
  if (!only) return [`DELETE /images/${ref}`];
  return ['POST /containers/create (a hold: a child of the image, never started)', 'POST /commit', 'DELETE /containers/<hold>', `DELETE /images/${ref}`, 'DELETE /images/<hold>'];
}

/** What `--dry-run` prints for a step, from its parameters alone. */
export function stepActions(params: StepParams): string[] {
  switch (params.id) {
    case 'record-inventory':
      return [
        'GET /info', 'GET /version', 'GET /images/json', 'GET /containers/json', 'GET /volumes', 'GET /networks',
        ...params.containers.map((name) => `GET /containers/<id-of-${name}>/json → inventory.json`),
      ];
    case 'save-images':
      return params.images.map((i) => `GET /images/get?${query(i.names.map((n) => ['names', n]))} → ${i.archive}`);
    case 'push-images':
      return params.images.flatMap((i) =>
        i.refs.flatMap(({ source, target }) => {
          const { repo, tag } = repoAndTagOf(target);
          return [
            `POST /images/${i.imageId}/tag?${query([['repo', repo], ['tag', tag]])} (${source})`,
            `POST /images/${repo}/push?${query([['tag', tag]])}`,
            ...temporaryTagRemoval(target, i.untagged),
          ];
        }),
      );
    case 'stop-containers':
      return [
        ...params.unpause.map((name) => `POST /containers/${name}/unpause`),
        ...params.waves.flatMap((wave, n) => wave.map((name) => `POST /containers/${name}/stop${params.waves.length > 1 ? ` (wave ${n + 1})` : ''}`)),
      ];
    case 'stage-images': {
      const side = `${params.runtimeDir}/staging`;
      return [
        `$ ${params.commands.stop} — only if a private dockerd of an interrupted run is left (${side}/docker.pid)`,
        `mkdir ${params.stagedRoot} (mode of the data-root)`,
        `$ chcon --reference=${params.dataRoot} ${params.stagedRoot} — only if SELinux is on`,
        `$ ${params.dockerd} --help`,
        `$ ${params.commands.start}`,
        `on the private dockerd (unix://${side}/docker.sock): GET /_ping (until it answers), GET /info (Driver must be ${params.driver})`,
        ...params.images.map((i) => `on the private dockerd: POST /images/load ← ${i.archive} (${i.label})`),
        `$ ${params.commands.stop}`,
        `$ rm -rf --one-file-system -- ${params.stagedRoot}/volumes — only if the private dockerd made it (its empty volume store)`,
        `$ rm -rf --one-file-system -- ${params.stagedRoot}/network — only if the private dockerd made it (its network store)`,
        `copy ${side}/dockerd.log → the run directory (staging-dockerd.log)`,
        `$ rm -rf --one-file-system -- ${params.runtimeDir}`,
      ];
    }
    case 'place-staged-root':
      return [`rename ${params.from} → ${params.to} (or its contents, when the data-root is a mount point)`];
    case 'save-writable-layers':
      return params.containers.flatMap((c) => [`GET /containers/<id-of-${c.name}>/changes`, `GET /containers/<id-of-${c.name}>/archive → ${c.archive}`]);
    case 'record-volumes':
      return params.volumes.map((v) => `read ${v.mountpoint}: kind, mode, owner, size${params.content ? ', sha256' : ''}, mtime of every file → volume-trees.json`);
    case 'archive-volumes':
      return params.volumes.map((v) => `tar ${v.mountpoint} → ${v.archive}`);
    case 'stop-daemon':
      return [
        ...params.commands.map((c) => `$ ${c}`),
        ...(params.side ? ['wait until its process is gone and its socket quiet', `remove its directory (socket, pid file, exec-root, log)`] : []),
        ...params.bridges.map((b) => `$ ip link delete ${b} — only if the stopped daemon left it, down`),
      ];
    case 'keep-data-root':
      return [
        ...(params.archive ? [`tar --sparse --xattrs --selinux -cf ${params.archive} ${params.dataRoot}`] : []),
        `rename ${params.dataRoot} → ${params.keptPath} (or its contents, when it is a mount point)`,
      ];
    case 'carry-volumes':
      return [`rename ${params.from} → ${params.to}`];
    case 'rewrite-config':
      return [
        `copy ${params.configPath} → ${params.backupDir}`,
        `write ${params.configPath}: storage-driver ${params.driver === 'devicemapper' ? 'devicemapper (dm.thinpooldev)' : params.driver}, no dm.* options`,
        ...params.flagEdits.map((edit) => `edit ${edit.path}${edit.kind === 'systemd-unit' ? ' (through a drop-in)' : ''}: ${edit.action ?? `remove ${edit.removes.join(' ')}`}`),
      ];
    case 'build-thin-pool':
      return params.commands.map((c) => `$ ${formatPoolCommand(c)}`);
    case 'start-daemon':
      return [...params.commands.map((c) => `$ ${c}`), 'GET /_ping (until it answers)', `GET /info (Driver must be ${params.driver})`];
    case 'load-images':
      if (params.staged) return ['GET /images/json (the images were staged before the stop)', ...params.images.map((i) => `POST /images/load ← ${'archive' in i ? i.archive : i.label} — only if the staged data-root lacks it`)];
      return params.images.flatMap((i) => {
        if (i.from === 'archive') return [`POST /images/load ← ${i.archive} (${i.label})`];
        const { repo, tag } = repoAndTagOf(i.ref);
        return [
          `POST /images/create?${query([['fromImage', repo], ['tag', tag]])}`,
          ...i.tags.map((t) => {
            const original = repoAndTagOf(t);
            return `POST /images/${i.imageId}/tag?${query([['repo', original.repo], ['tag', original.tag]])}`;
          }),
          ...(i.tags.includes(i.ref) ? [] : temporaryTagRemoval(i.ref, i.tags.length === 0)),
        ];
      });
    case 'create-networks':
      return params.networks.map((n) => `POST /networks/create (${n.name}, ${n.driver})`);
    case 'create-volumes':
      return params.volumes.map((v) => `GET /volumes/${v} (carried with the data-root) — POST /volumes/create only if it was not`);
    case 'create-containers':
      return params.containers.flatMap((c) => [
        `POST /containers/create?name=${c.name} (${c.image})`,
        ...c.connects.map((n) => `POST /networks/${n}/connect (${c.name})`),
        ...(c.layerArchive ? [`PUT /containers/<id-of-${c.name}>/archive?path=/ ← ${c.layerArchive} — only if the layer kept any file`] : []),
      ]);
    case 'check-volumes':
      return params.volumes.map((v) => `read ${v}'s files (before any container starts) → volume-trees-restored.json`);
    case 'start-containers':
      return [
        ...(params.waves ?? params.containers.map((c) => [c])).flatMap((wave, n, all) => wave.map((c) => `POST /containers/${c}/start${all.length > 1 && params.waves ? ` (wave ${n + 1})` : ''}`)),
        ...params.pause.map((c) => `POST /containers/${c}/pause`),
      ];
    case 'verify':
      return [
        'GET /info', 'GET /images/json', 'GET /containers/json', 'GET /volumes', 'GET /networks',
        'read the host: daemon.json, dockerd --version, LVM (pvs, vgs, lvs), the data-root’s file system (stat -f, xfs_info or tune2fs -l)',
        'compare; write report.json, report.txt',
      ];
  }
}

/** Where an image is pushed: every real tag under the registry, or an untagged image under a tag of its ID. */
function pushesOf(image: ImageRecord, registry: { address: string; repositoryPrefix?: string }): ImagePush {
  const tags = imageSaveNames(image).filter((name) => name !== image.id);
  const refs = tags.length ? tags.map((tag) => ({ source: tag, target: registryTargetRef(registry, tag) })) : [{ source: image.id, target: untaggedTargetRef(registry, image.id) }];
  return { imageId: image.id, label: imageLabel(image), untagged: tags.length === 0, refs };
}

/** Networks a container is connected to after its create: all but the one of its network mode. */
function extraNetworks(container: ContainerRecord): string[] {
  const primary = container.networkMode === 'default' ? 'bridge' : container.networkMode;
  return container.networks.map((n) => n.name).filter((name) => name !== primary);
}

/** The Linux bridge of a user-defined bridge network (its own name option, else br-<short id>). */
function bridgeOf(network: Inventory['networks'][number]): string {
  return network.options['com.docker.network.bridge.name'] ?? `br-${network.id.slice(0, 12)}`;
}

/**
 * The API recreates containers; it cannot give them their old logs. json-file and local logs live
 * in the old data-root's containers/<id>/, which is kept until finalize.
 */
export const CONTAINER_LOGS_NOTE =
  "containers' logs are not carried: `docker logs` of a recreated container starts empty; json-file and local logs stay in the kept data-root's containers/ directory until finalize (copy what you need before it), and logs sent to journald, syslog or a remote driver stay where they went";

/** The ordered steps of a run with the parameters each executes (pure: `run --dry-run` prints it). */
export function buildPlan(inventory: Inventory, selection: Selection, answers: PlanAnswers, facts: PlanFacts): Plan {
  const { images, containers, volumes, networks } = selection;
  const leftOut = excludedVolumeUsers(inventory.containers, containers.map((c) => c.name), volumes);
  const orderable = facts.orderable ?? containers.map((c) => ({ name: c.name, id: c.id, networkMode: c.networkMode, links: c.links, volumesFrom: c.volumesFrom }));
  const running = new Set(containers.filter((c) => c.running).map((c) => c.name));
  const order = startOrder(orderable);
  const selectedWaves = stopWaves(orderable.filter((c) => running.has(c.name)));
  const waves = leftOut.length ? [leftOut.map((u) => u.name), ...selectedWaves] : selectedWaves;
  const paused = new Set(inventory.containers.filter((c) => c.state === 'paused').map((c) => c.name));
  const keptDataRoot = `${facts.dataRoot}.devmapper-migrate-${facts.runId ?? '<run-id>'}`;
  const archive = (kind: string, file: string) => `${facts.archiveDir}/${kind}/${file}`;
  const registry = { address: answers.registry?.address ?? '<registry>', repositoryPrefix: answers.registry?.repositoryPrefix };
  const pushed = answers.images.push ? new Map(images.map((i) => [i.id, pushesOf(i, registry)])) : undefined;
  const localVolumes = volumes.filter(keepsFilesOnHost);
  const byName = new Map(containers.map((c) => [c.name, c]));
  const steps: PlannedStep[] = [];
  const add = <P extends StepParams>(step: { phase: Phase; title: string; downtime?: boolean; params: P }) =>
    steps.push({ id: step.params.id, phase: step.phase, title: step.title, downtime: step.downtime ?? false, params: step.params, actions: stepActions(step.params) });

  add({ phase: 'preflight', title: 'Record the inventory', params: { id: 'record-inventory', containers: containers.map((c) => c.name) } });
  if (answers.images.save) {
    add({
      phase: 'export',
      title: `Save ${images.length} image(s)`,
      params: { id: 'save-images', images: images.map((i) => ({ imageId: i.id, label: imageLabel(i), names: imageSaveNames(i), archive: archive('images', imageArchiveFileName(i)) })) },
    });
  }
  if (pushed) {
    add({
      phase: 'export',
      title: `Push ${images.length} image(s) to ${answers.registry?.address ?? 'the registry'}`,
      params: { id: 'push-images', registry: registry.address, images: [...pushed.values()] },
    });
  }
  const staging = facts.staging?.staged ? facts.staging : undefined;
  if (staging) {
    add({
      phase: 'export',
      title: `Stage ${images.length} image(s) in the new data-root`,
      params: {
        id: 'stage-images',
        dockerd: staging.dockerd,
        dataRoot: facts.dataRoot,
        stagedRoot: staging.stagedRoot,
        runtimeDir: staging.runtimeDir,
        driver: 'overlay2',
        commands: staging.commands ?? { start: '<start the private dockerd>', stop: '<stop the private dockerd>' },
        images: images.map((i) => ({ imageId: i.id, label: imageLabel(i), archive: archive('images', imageArchiveFileName(i)) })),
      },
    });
  }
  add({ phase: 'quiesce', title: `Stop ${waves.flat().length} running container(s)`, downtime: true, params: { id: 'stop-containers', waves, leftOut, unpause: waves.flat().filter((name) => paused.has(name)) } });
  if (answers.containers.keepWritableLayer) {
    add({
      phase: 'quiesce',
      title: 'Keep the containers’ writable layers',
      downtime: true,
      params: { id: 'save-writable-layers', containers: containers.map((c) => ({ name: c.name, archive: archive('layers', `${c.name}.tar`) })) },
    });
  }
  add({
    phase: 'quiesce',
    title: `Describe the files of ${localVolumes.length} volume(s)`,
    downtime: true,
    params: { id: 'record-volumes', volumes: localVolumes.map((v) => ({ name: v.name, mountpoint: v.mountpoint })), content: answers.volumes.archive },
  });
  if (answers.volumes.archive) {
    add({
      phase: 'quiesce',
      title: `Archive ${localVolumes.length} volume(s)`,
      downtime: true,
      params: { id: 'archive-volumes', volumes: localVolumes.map((v) => ({ name: v.name, mountpoint: v.mountpoint, archive: archive('volumes', `${v.name}.tar`) })) },
    });
  }
  const bridges = networks.filter((n) => n.driver === 'bridge' && n.ipam.config.some((pool) => pool.subnet)).map(bridgeOf);
  const rescue = facts.rescue;
  add({
    phase: 'cutover',
    title: rescue ? `Stop the legacy dockerd ${rescue.version}` : 'Stop Docker',
    downtime: true,
    params: rescue ? { id: 'stop-daemon', commands: [rescue.stopCommand], bridges, side: rescue.dockerd } : { id: 'stop-daemon', commands: facts.stopCommands, bridges },
  });
  add({
    phase: 'cutover',
    title: 'Keep the old data-root',
    downtime: true,
    params: {
      id: 'keep-data-root',
      dataRoot: facts.dataRoot,
      keptPath: keptDataRoot,
      move: true,
      ...(answers.backup.dataRoot.includes('archive') && { archive: archive('data-root', 'data-root.tar') }),
    },
  });
  if (staging) {
    add({ phase: 'cutover', title: 'Put the staged data-root in place', downtime: true, params: { id: 'place-staged-root', from: staging.stagedRoot, to: facts.dataRoot } });
  }
  add({ phase: 'cutover', title: 'Carry the volumes to the new data-root', downtime: true, params: { id: 'carry-volumes', from: `${keptDataRoot}/volumes`, to: `${facts.dataRoot}/volumes` } });
  const driver = answers.target === 'direct-lvm' ? 'devicemapper' : 'overlay2';
  add({
    phase: 'cutover',
    title: `Configure Docker for ${answers.target}`,
    downtime: true,
    params: { id: 'rewrite-config', configPath: facts.daemonConfigPath, backupDir: `${facts.runDir}/config-backup/`, driver, flagEdits: facts.flagEdits },
  });
  if (answers.target === 'direct-lvm') {
    const device = answers.directLvm?.device ?? '<device>';
    add({ phase: 'cutover', title: `Build a direct-lvm thin pool on ${device}`, downtime: true, params: { id: 'build-thin-pool', device, ...(facts.thinPool ?? { vg: '<vg>', pool: '<pool>', tag: '<tag>', commands: [] }) } });
  }
  add({ phase: 'cutover', title: `Start Docker on ${answers.target}`, downtime: true, params: { id: 'start-daemon', commands: facts.startCommands, driver } });
  add({
    phase: 'restore',
    title: staging ? `Check the ${images.length} staged image(s)` : `Restore ${images.length} image(s)`,
    downtime: true,
    params: {
      id: 'load-images',
      ...(staging && { staged: true }),
      images: images.map((i): ImageRestore => {
        const base = { imageId: i.id, label: imageLabel(i), tags: imageSaveNames(i).filter((name) => name !== i.id) };
        // Saved archives come first: they need no registry; a push-only run pulls its images back.
        if (answers.images.save || !pushed) return { ...base, from: 'archive', archive: archive('images', imageArchiveFileName(i)) };
        return { ...base, from: 'registry', ref: pushed.get(i.id)!.refs[0]!.target };
      }),
    },
  });
  add({ phase: 'restore', title: `Recreate ${networks.length} network(s)`, downtime: true, params: { id: 'create-networks', networks: networks.map((n) => ({ name: n.name, driver: n.driver })) } });
  add({ phase: 'restore', title: `Restore ${volumes.length} volume(s)`, downtime: true, params: { id: 'create-volumes', volumes: volumes.map((v) => v.name) } });
  add({
    phase: 'restore',
    title: `Recreate ${containers.length} container(s)`,
    downtime: true,
    params: {
      id: 'create-containers',
      containers: order.map((name) => {
        const c = byName.get(name)!;
        return { name, image: c.image, connects: extraNetworks(c), ...(answers.containers.keepWritableLayer && { layerArchive: archive('layers', `${name}.tar`) }) };
      }),
    },
  });
  add({ phase: 'restore', title: `Read the files of ${localVolumes.length} restored volume(s)`, downtime: true, params: { id: 'check-volumes', volumes: localVolumes.map((v) => v.name) } });
  add({ phase: 'restore', title: `Start ${running.size} container(s)`, downtime: true, params: {
      id: 'start-containers',
      containers: order.filter((name) => running.has(name)),
      pause: order.filter((name) => running.has(name) && paused.has(name)),
      // Each wave at once: a dependency is in an earlier wave than what depends on it.
      waves: startWaves(orderable.filter((c) => running.has(c.name))),
    },
  });
  add({ phase: 'verify', title: 'Verify the host against the inventory', params: { id: 'verify' } });
  return {
    target: answers.target,
    steps,
    notes: [
      ...(rescue
        ? [
            `Rescue mode: the steps up to stop-daemon talk to the legacy dockerd ${rescue.dockerd} (${rescue.version}) at ${rescue.dockerHost}, started on the old data-root; stop-daemon stops it, and start-daemon starts the installed engine on ${answers.target}`,
          ]
        : []),
      ...selection.notes,
      ...leftOut.map((u) => `container ${u.name} is not migrated but mounts ${u.volumes.join(', ')}: it is stopped with the others while the volumes are read (a rollback starts it again)`),
      `Source driver: ${inventory.daemon.driver}`,
      ...(facts.staging ? [stagingNote(facts.staging)] : []),
      ...(containers.length > 0 ? [CONTAINER_LOGS_NOTE] : []),
    ],
  };
}
