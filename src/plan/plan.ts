import type { Inventory } from '../docker/types.js';
import type { Phase } from './phases.js';
import type { Selection } from './select.js';
import { excludedVolumeUsers } from '../record/selection.js';

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
  /** `action` replaces the default "remove <removes>" (docker-storage-setup's file is set, not stripped). */
  flagEdits: { path: string; removes: string[]; action?: string }[];
  /** The direct-lvm pool commands, in order, when the target is direct-lvm. */
  poolCommands: string[];
}

export interface PlannedStep {
  id: string;
  phase: Phase;
  title: string;
  /** Containers are stopped while this step runs. */
  downtime: boolean;
  /** Every Docker API call, host command and file change the step will make, in order. */
  actions: string[];
}

export interface Plan {
  target: PlanAnswers['target'];
  steps: PlannedStep[];
  notes: string[];
}

const name = (tagsOrId: { tags: string[]; id: string }) => tagsOrId.tags[0] ?? tagsOrId.id;

/** The ordered steps of a run, with every action each will take (pure: `run --dry-run` prints it). */
/**
 * The API recreates containers; it cannot give them their old logs. json-file and local logs live
 * in the old data-root's containers/<id>/, which is kept until finalize.
 */
export const CONTAINER_LOGS_NOTE =
  "containers' logs are not carried: `docker logs` of a recreated container starts empty; json-file and local logs stay in the kept data-root's containers/ directory until finalize (copy what you need before it), and logs sent to journald, syslog or a remote driver stay where they went";

export function buildPlan(inventory: Inventory, selection: Selection, answers: PlanAnswers, facts: PlanFacts): Plan {
  const { images, containers, volumes, networks } = selection;
  const leftOut = excludedVolumeUsers(inventory.containers, containers.map((c) => c.name), volumes);
  const running = containers.filter((c) => c.running).map((c) => c.name);
  const stopping = [...leftOut.map((u) => u.name), ...running];
  // Engines before 17.07 refuse to stop a paused container: it is unpaused first, and paused again once it runs on the target.
  const paused = new Set(inventory.containers.filter((c) => c.state === 'paused').map((c) => c.name));
  const keptDataRoot = `${facts.dataRoot}.devmapper-migrate-${facts.runId ?? '<run-id>'}`;
  const steps: PlannedStep[] = [];
  const add = (step: Omit<PlannedStep, 'downtime'> & { downtime?: boolean }) =>
    steps.push({ downtime: false, ...step });

  add({
    id: 'record-inventory',
    phase: 'preflight',
    title: 'Record the inventory',
    actions: [
      'GET /info, GET /version, GET /images/json, GET /containers/json?all=1&size=1, GET /volumes, GET /networks',
      ...containers.map((c) => `GET /containers/${c.name}/json → inventory.json`),
    ],
  });
  if (answers.images.save) {
    add({
      id: 'save-images',
      phase: 'export',
      title: `Save ${images.length} image(s)`,
      actions: images.map((i) => `GET /images/get?names=${[...i.tags].join(',') || i.id} → ${facts.archiveDir}/images/${i.id.replace('sha256:', '')}.tar`),
    });
  }
  if (answers.images.push) {
    const prefix = `${answers.registry?.address ?? '<registry>'}/${answers.registry?.repositoryPrefix ?? ''}`;
    add({
      id: 'push-images',
      phase: 'export',
      title: `Push ${images.filter((i) => i.tags.length).length} image(s) to ${answers.registry?.address ?? 'the registry'}`,
      actions: images.flatMap((i) => i.tags.map((tag) => `POST /images/${tag}/tag → ${prefix}${tag}; POST /images/${prefix}${tag}/push`)),
    });
  }
  add({
    id: 'stop-containers',
    phase: 'quiesce',
    title: `Stop ${stopping.length} running container(s)`,
    downtime: true,
    actions: stopping.flatMap((c) => [...(paused.has(c) ? [`POST /containers/${c}/unpause`] : []), `POST /containers/${c}/stop`]),
  });
  if (answers.containers.keepWritableLayer) {
    add({
      id: 'save-writable-layers',
      phase: 'quiesce',
      title: 'Keep the containers’ writable layers',
      downtime: true,
      actions: containers.map((c) => `GET /containers/${c.name}/changes; GET /containers/${c.name}/archive → ${facts.archiveDir}/layers/${c.name}.tar`),
    });
  }
  const localVolumes = volumes.filter((v) => !v.remote);
  add({
    id: 'record-volumes',
    phase: 'quiesce',
    title: `Describe the files of ${localVolumes.length} volume(s)`,
    downtime: true,
    actions: localVolumes.map((v) => `read ${v.mountpoint}: kind, mode, owner, size${answers.volumes.archive ? ', sha256' : ''}, mtime of every file → volume-trees.json`),
  });
  if (answers.volumes.archive) {
    add({
      id: 'archive-volumes',
      phase: 'quiesce',
      title: `Archive ${volumes.filter((v) => !v.remote).length} volume(s)`,
      downtime: true,
      actions: localVolumes.map((v) => `tar ${v.mountpoint} → ${facts.archiveDir}/volumes/${v.name}.tar`),
    });
  }
  add({ id: 'stop-daemon', phase: 'cutover', title: 'Stop Docker', downtime: true, actions: facts.stopCommands });
  add({
    id: 'keep-data-root',
    phase: 'cutover',
    title: 'Keep the old data-root',
    downtime: true,
    actions: [
      ...(answers.backup.dataRoot.includes('archive') ? [`tar --sparse --xattrs --selinux -cf ${facts.archiveDir}/data-root/data-root.tar ${facts.dataRoot}`] : []),
      ...(answers.backup.dataRoot.includes('move') ? [`rename ${facts.dataRoot} → ${keptDataRoot} (or its contents, when it is a mount point)`] : []),
    ],
  });
  add({
    id: 'carry-volumes',
    phase: 'cutover',
    title: 'Carry the volumes to the new data-root',
    downtime: true,
    actions: [`rename ${keptDataRoot}/volumes → ${facts.dataRoot}/volumes`],
  });
  add({
    id: 'rewrite-config',
    phase: 'cutover',
    title: `Configure Docker for ${answers.target}`,
    downtime: true,
    actions: [
      `copy ${facts.daemonConfigPath} → ${facts.runDir}/config-backup/`,
      `write ${facts.daemonConfigPath}: storage-driver ${answers.target === 'direct-lvm' ? 'devicemapper (dm.thinpooldev)' : 'overlay2'}, no dm.* options`,
      ...facts.flagEdits.map((edit) => `edit ${edit.path}: ${edit.action ?? `remove ${edit.removes.join(' ')}`}`),
    ],
  });
  if (answers.target === 'direct-lvm') {
    add({ id: 'build-thin-pool', phase: 'cutover', title: `Build a direct-lvm thin pool on ${answers.directLvm?.device}`, downtime: true, actions: facts.poolCommands });
  }
  add({ id: 'start-daemon', phase: 'cutover', title: `Start Docker on ${answers.target}`, downtime: true, actions: [...facts.startCommands, 'GET /_ping until 200; GET /info: Driver must be the target'] });
  add({
    id: 'load-images',
    phase: 'restore',
    title: `Restore ${images.length} image(s)`,
    downtime: true,
    actions: images.map((i) => `POST /images/load ← images/${i.id.replace('sha256:', '')}.tar (${name(i)})`),
  });
  add({ id: 'create-networks', phase: 'restore', title: `Recreate ${networks.length} network(s)`, downtime: true, actions: networks.map((n) => `POST /networks/create ${n.name} (${n.driver})`) });
  add({ id: 'create-volumes', phase: 'restore', title: `Restore ${volumes.length} volume(s)`, downtime: true, actions: volumes.map((v) => `GET /volumes/${v.name} (carried) or POST /volumes/create ${v.name}`) });
  add({
    id: 'create-containers',
    phase: 'restore',
    title: `Recreate ${containers.length} container(s)`,
    downtime: true,
    actions: containers.flatMap((c) => [
      `POST /containers/create?name=${c.name} (${c.image})`,
      ...(answers.containers.keepWritableLayer ? [`PUT /containers/${c.name}/archive?path=/ ← layers/${c.name}.tar`] : []),
    ]),
  });
  add({
    id: 'check-volumes',
    phase: 'restore',
    title: `Read the files of ${localVolumes.length} restored volume(s)`,
    downtime: true,
    actions: localVolumes.map((v) => `read ${v.name}'s files (before any container starts) → volume-trees-restored.json`),
  });
  add({ id: 'start-containers', phase: 'restore', title: `Start ${running.length} container(s)`, downtime: true, actions: running.flatMap((c) => [`POST /containers/${c}/start`, ...(paused.has(c) ? [`POST /containers/${c}/pause`] : [])]) });
  add({ id: 'verify', phase: 'verify', title: 'Verify the host against the inventory', actions: ['GET /info, /images/json, /containers/json, /volumes, /networks; compare; write report.json, report.txt'] });
  return {
    target: answers.target,
    steps,
    notes: [
      ...selection.notes,
      ...leftOut.map((u) => `container ${u.name} is not migrated but mounts ${u.volumes.join(', ')}: it is stopped with the others while the volumes are read (a rollback starts it again)`),
      `Source driver: ${inventory.daemon.driver}`,
      ...(containers.length > 0 ? [CONTAINER_LOGS_NOTE] : []),
    ],
  };
}
