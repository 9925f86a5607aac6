/** The few facts a person wants above the findings: what runs, on what, and what the target is. */
import type { PreflightFacts } from '../facts/types.js';
import { formatBytes } from '../report/format.js';
import { estimateSizes, poolState } from './analysis.js';
import { count } from './entry.js';
import type { PreflightOptions } from './options.js';

/** Label/value rows summarising the facts, for the text report. */
export function factsSummaryRows(facts: PreflightFacts, options: PreflightOptions): [string, string][] {
  const { daemon, inventory } = facts.docker;
  const host = facts.host;
  const rows: [string, string][] = [];
  const process = host.dockerd
    ? `dockerd pid ${host.dockerd.pid}${host.dockerd.systemdUnit ? ` in ${host.dockerd.systemdUnit}` : ''}`
    : 'dockerd process not found';
  const installed = host.installedDockerd ? `; installed: ${host.installedDockerd.versionOutput}` : '';
  if (facts.daemonDown) {
    rows.push(['Docker host', `${host.dockerHost} (not answering; ${process})`]);
    rows.push(['Docker', `not running${installed}`]);
    rows.push(['Data root', `${daemon.dockerRootDir} (from the configuration), holds: ${host.dataRoot.driverDirs.join(', ') || 'no driver data'}`]);
    rows.push(['Kernel', host.kernel.release ?? 'unknown']);
    rows.push(['Daemon config', `${host.daemonJson.path} (${host.daemonJson.text === undefined ? 'absent' : 'present'})`]);
    rows.push(['Target', `${options.target}; engine ${options.targetEngine}`]);
    return rows;
  }
  rows.push(['Docker host', `${host.dockerHost} (${process})`]);
  rows.push(['Docker', `${daemon.serverVersion} (API ${daemon.apiVersion})${installed}`]);
  let driver = daemon.driver;
  if (daemon.driver === 'devicemapper') {
    const pool = poolState(daemon);
    const used = pool.dataUsed !== undefined && pool.dataTotal !== undefined ? `, data ${formatBytes(pool.dataUsed)} of ${formatBytes(pool.dataTotal)}` : '';
    driver += ` (${pool.mode}, pool ${pool.poolName ?? '?'}${used})`;
  }
  rows.push(['Storage driver', driver]);
  const root = host.dataRoot;
  const dType = root.dType.supported === undefined ? 'd_type unknown' : root.dType.supported ? 'd_type yes' : 'd_type NO';
  const on = root.mount ? ` (${root.mount.device} on ${root.mount.mountPoint})` : '';
  const free = root.space ? `, ${formatBytes(root.space.availableBytes)} free` : '';
  rows.push(['Data root', `${daemon.dockerRootDir} on ${root.fsType ?? 'unknown filesystem'}${on}, ${dType}${free}`]);
  rows.push(['Kernel', host.kernel.release ?? daemon.kernelVersion]);
  const json = host.daemonJson.text === undefined ? 'absent' : 'present';
  rows.push(['Daemon config', `${host.daemonJson.path} (${json})`]);
  const e = estimateSizes(inventory, options);
  rows.push([
    'Workload',
    `${count(e.imageCount, 'image')} (${formatBytes(e.imagesBytes)}; ${formatBytes(e.layersBytes)} of layers${inventory.layersSize === undefined ? ', not measured' : ''}), ${count(e.containerCount, 'container')} (${e.runningCount} running), ${count(inventory.volumes.length, 'volume')}, ${count(inventory.networks.length, 'network')}`,
  ]);
  const backupFree = host.backupDirectory.space ? `, ${formatBytes(host.backupDirectory.space.availableBytes)} free` : '';
  rows.push(['Backups', `${options.backupDirectory}${backupFree}`]);
  rows.push(['Target', `${options.target === 'direct-lvm' ? `direct-lvm on ${options.device ?? '(no device given)'}` : options.target}; engine ${options.targetEngine}`]);
  return rows;
}
