/** What about the containers, volumes and daemon mode makes stopping and recreating them delicate. */
import type { ContainerRecord } from '../../docker/types.js';
import type { Analysis } from '../analysis.js';
import { count, entry, listText, type Check } from '../entry.js';

function names(containers: readonly ContainerRecord[]): string[] {
  return containers.map((c) => c.name.replace(/^\//, ''));
}

function skip(a: Analysis): boolean {
  return a.alreadyOnTarget;
}

export const swarmCheck: Check = {
  name: 'swarm mode',
  keys: ['swarm-active'],
  run(a: Analysis) {
    const state = a.daemon.swarmState;
    if (skip(a) || !state || state === 'inactive') return [];
    return [
      entry(
        'swarm-active',
        'blocker',
        `Swarm mode is ${state}`,
        `This node is part of a swarm (${state}). Swarm services' tasks are managed by the orchestrator: stopping the daemon reschedules them elsewhere, and the run cannot recreate them as plain containers.`,
        'Drain the node (`docker node update --availability drain <node>`), leave the swarm (`docker swarm leave`), migrate, then join again; or add swarm-active to ignoreBlockers if you accept that.',
        { swarmState: state },
      ),
    ];
  },
};

export const liveRestoreCheck: Check = {
  name: 'live-restore',
  keys: ['live-restore-enabled'],
  run(a: Analysis) {
    if (skip(a) || !a.daemon.liveRestore) return [];
    return [
      entry(
        'live-restore-enabled',
        'warning',
        'live-restore is on',
        'With live-restore, stopping dockerd leaves containers running on the old storage. The run stops the running containers it migrates (and those that mount their volumes) itself before it stops the daemon, so their data is consistent; expect that, not a surprise. ' +
          'A running container the run leaves out is not stopped by it, and outlives the daemon stop on the old storage.',
        'Stop the running containers you leave out of the run before it starts (`docker stop <name>`); to see the rest happen, watch `docker ps` during the run.',
      ),
    ];
  },
};

const STATE_NOTES: Record<string, { key: string; title: string; why: string; fix: string }> = {
  paused: {
    key: 'containers-paused',
    title: 'Paused containers',
    why: 'engines before 17.07 refuse to stop a paused container, so the run unpauses them before it stops them (they run for a moment) and pauses them again once they are restored, or rolled back',
    fix: 'Nothing to do if they may run for a moment; otherwise stop them yourself before the run (`docker unpause <name>`, then `docker stop <name>`).',
  },
  restarting: {
    key: 'containers-restarting',
    title: 'Restarting containers',
    why: 'they are crash-looping; they are recreated with the same restart policy and will keep doing so',
    fix: 'Look at `docker logs <name>` and fix or remove them before the run.',
  },
  dead: {
    key: 'containers-dead',
    title: 'Dead containers',
    why: 'dockerd failed to remove them and their writable layer may be unreadable, so it may not be kept',
    fix: 'Remove them (`docker rm -f <name>`) if they are not needed; exclude them (containers.exclude) otherwise.',
  },
  removing: {
    key: 'containers-dead',
    title: 'Containers being removed',
    why: 'they are being removed: one may be gone, or half gone, by the time the run stops and archives it',
    fix: 'Wait for the removal to finish and run preflight again.',
  },
};

export const containerStateCheck: Check = {
  name: 'container states',
  keys: ['containers-paused', 'containers-restarting', 'containers-dead'],
  run(a: Analysis) {
    if (skip(a)) return [];
    const entries = [];
    for (const [state, note] of Object.entries(STATE_NOTES)) {
      const found = a.inventory.containers.filter((c) => c.state === state);
      if (found.length === 0) continue;
      entries.push(
        entry(
          note.key,
          'warning',
          note.title,
          `${count(found.length, 'container')} ${state}: ${listText(names(found))}; ${note.why}.`,
          note.fix,
          { containers: names(found), state },
        ),
      );
    }
    return entries;
  },
};

export const containerWiringCheck: Check = {
  name: 'container wiring',
  keys: ['containers-volumes-from', 'containers-network-container', 'containers-links', 'containers-auto-remove'],
  run(a: Analysis) {
    if (skip(a)) return [];
    const entries = [];
    const all = a.inventory.containers;
    const volumesFrom = all.filter((c) => c.volumesFrom.length > 0);
    if (volumesFrom.length > 0) {
      entries.push(
        entry(
          'containers-volumes-from',
          'warning',
          'Containers use --volumes-from',
          `${listText(volumesFrom.map((c) => `${c.name.replace(/^\//, '')} (from ${c.volumesFrom.join(', ')})`))}. They are recreated after the containers they take volumes from, which must be included too.`,
          'Keep the source containers included (containers.include), or switch to named volumes.',
          { containers: volumesFrom.map((c) => ({ name: c.name, volumesFrom: c.volumesFrom })) },
        ),
      );
    }
    const netContainer = all.filter((c) => c.networkMode.startsWith('container:'));
    if (netContainer.length > 0) {
      entries.push(
        entry(
          'containers-network-container',
          'warning',
          "Containers share another container's network",
          `${listText(netContainer.map((c) => `${c.name.replace(/^\//, '')} (${c.networkMode})`))}. The referenced container gets a new ID when recreated, so these are recreated after it, pointing at its new ID.`,
          'Keep the referenced containers included; check the pairs after the run with `docker inspect -f "{{.HostConfig.NetworkMode}}" <name>`.',
          { containers: netContainer.map((c) => ({ name: c.name, networkMode: c.networkMode })) },
        ),
      );
    }
    const linked = all.filter((c) => c.links.length > 0);
    if (linked.length > 0) {
      entries.push(
        entry(
          'containers-links',
          'warning',
          'Containers use legacy links',
          `${listText(linked.map((c) => `${c.name.replace(/^\//, '')} (${c.links.join(', ')})`))}. Links are recreated in dependency order; a link to an excluded container breaks.`,
          'Keep linked containers included, or move them to a user-defined network with aliases.',
          { containers: linked.map((c) => ({ name: c.name, links: c.links })) },
        ),
      );
    }
    // Running ones only: a --rm container that stopped is gone already.
    const autoRemove = all.filter((c) => c.autoRemove && c.running);
    if (autoRemove.length > 0) {
      const one = autoRemove.length === 1;
      entries.push(
        entry(
          'containers-auto-remove',
          'blocker',
          'Running containers started with --rm',
          `${listText(names(autoRemove))} ${one ? 'was' : 'were'} started with --rm: stopping ${one ? 'it' : 'them'} for the cutover deletes ${one ? 'it' : 'them'}, with ${one ? 'its' : 'their'} writable layer and anonymous volumes, and the run cannot carry such containers. It does not start while one runs (this cannot be overridden).`,
          'If they matter, recreate them without --rm before the run; if they are throwaway jobs, let them finish or stop them first.',
          { containers: names(autoRemove) },
        ),
      );
    }
    return entries;
  },
};

export const volumeCheck: Check = {
  name: 'volumes',
  keys: ['volumes-anonymous', 'volumes-remote', 'volumes-plugin-driver'],
  run(a: Analysis) {
    if (skip(a)) return [];
    const entries = [];
    const volumes = a.inventory.volumes;
    const anonymous = volumes.filter((v) => v.anonymous && !v.remote);
    if (anonymous.length > 0) {
      const users = [...new Set(anonymous.flatMap((v) => v.usedBy))];
      entries.push(
        entry(
          'volumes-anonymous',
          'warning',
          'Anonymous volumes',
          `${count(anonymous.length, 'anonymous volume')} (random names${users.length ? `, used by ${listText(users)}` : ', used by no container'}). Their data is carried with the containers that mount them; an unused one is carried only if included, and scripts that refer to one by its random name should be checked after the run.`,
          'Give data that matters a named volume (`docker volume create`), or check the list in `devmapper-migrate inventory`.',
          { volumes: anonymous.map((v) => ({ name: v.name, usedBy: v.usedBy })) },
        ),
      );
    }
    const remote = volumes.filter((v) => v.remote);
    if (remote.length > 0) {
      entries.push(
        entry(
          'volumes-remote',
          'warning',
          'Volumes on network filesystems',
          `${listText(remote.map((v) => `${v.name} (${v.options.type ?? 'remote'}${v.options.device ? ` ${v.options.device}` : ''})`))}: their data stays on the server; the run recreates the volumes with the same options and does not copy or archive their contents.`,
          'Make sure the server is reachable from this host after the run; back up the data on the server if you need a copy.',
          { volumes: remote.map((v) => ({ name: v.name, options: v.options })) },
        ),
      );
    }
    const plugin = volumes.filter((v) => v.driver !== 'local');
    if (plugin.length > 0) {
      entries.push(
        entry(
          'volumes-plugin-driver',
          'warning',
          'Volumes of plugin drivers',
          `${listText(plugin.map((v) => `${v.name} (${v.driver})`))}: their data lives wherever the plugin keeps it; the run recreates the volumes, it does not copy their data.`,
          'Check that the plugin is installed and enabled after the run (`docker plugin ls`).',
          { volumes: plugin.map((v) => ({ name: v.name, driver: v.driver })) },
        ),
      );
    }
    return entries;
  },
};

export const factsProblemsCheck: Check = {
  name: 'facts that could not be read',
  keys: ['facts-incomplete'],
  run(a: Analysis) {
    const problems = a.host.problems;
    if (problems.length === 0) return [];
    return [
      entry(
        'facts-incomplete',
        'warning',
        'Some facts could not be read',
        `${problems.map((p) => `${p.probe}: ${p.message}`).join('; ')}. Checks that depend on them may have missed something.`,
        'Run preflight as root; if it already runs as root, check the messages above.',
        { problems },
      ),
    ];
  },
};
