/** Finding the dockerd that serves a given Docker host among every process on the machine. */
import {
  dockerdArgsOf,
  isDockerdCommandLine,
  parseDockerdArgs,
  parseProcCmdline,
  parseUnitFile,
} from '../config/dockerd-flags.js';
import { parseDaemonJson } from '../config/daemon-json.js';
import type { Host } from '../host/host.js';
import { addressServes, DEFAULT_SOCKET, normaliseSocketPath, parseDockerAddress } from './parse.js';
import { redactSecrets } from './redact.js';
import type { DockerdProcess, UnitFileFact } from './types.js';

const DEFAULT_CONFIG_FILE = '/etc/docker/daemon.json';

/** Every running Docker daemon: pid and argv from /proc. */
export async function listDockerds(host: Host): Promise<{ pid: number; argv: string[] }[]> {
  const entries = (await host.listDir('/proc')) ?? [];
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string | undefined;
    try {
      text = await host.readFile(`/proc/${entry}/cmdline`);
    } catch {
      continue; // a process we may not read, or one that just exited
    }
    if (!text) continue;
    const argv = parseProcCmdline(text);
    if (isDockerdCommandLine(argv)) found.push({ pid: Number(entry), argv: argv.map(redactSecrets) });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** Socket paths docker.socket listens on (ListenStream=), for `-H fd://` daemons. */
export function socketUnitPaths(socketUnit: readonly UnitFileFact[]): string[] {
  let paths: string[] = [];
  for (const file of socketUnit) {
    for (const d of parseUnitFile(file.text)) {
      if (d.section !== 'Socket' || d.key !== 'ListenStream') continue;
      if (d.value === '') paths = [];
      else if (d.value.startsWith('/')) paths.push(normaliseSocketPath(d.value));
    }
  }
  return paths;
}

/**
 * The dockerd that serves `dockerHost`: the one whose -H (or, without -H, its config file's
 * "hosts", else the default socket) matches; `-H fd://` matches docker.socket's paths.
 */
export async function findServingDockerd(
  host: Host,
  dockerHost: string,
  candidates: readonly { pid: number; argv: string[] }[],
  socketUnit: readonly UnitFileFact[],
): Promise<DockerdProcess | undefined> {
  const target = parseDockerAddress(dockerHost);
  const activated = socketUnitPaths(socketUnit);
  const socketPaths = activated.length > 0 ? activated : [normaliseSocketPath(DEFAULT_SOCKET)];
  for (const candidate of candidates) {
    const args = parseDockerdArgs(dockerdArgsOf(candidate.argv));
    let hosts = args.hosts;
    let matchedBy: DockerdProcess['matchedBy'] = 'host-flag';
    if (hosts.length === 0) hosts = await configuredHosts(host, args.configFile ?? DEFAULT_CONFIG_FILE);
    if (hosts.length === 0) {
      hosts = [`unix://${DEFAULT_SOCKET}`];
      matchedBy = 'default-socket';
    }
    for (const raw of hosts) {
      const listen = parseDockerAddress(raw);
      const serves =
        listen.kind === 'fd'
          ? target.kind === 'unix' && socketPaths.includes(target.path)
          : addressServes(listen, target);
      if (serves) {
        return {
          pid: candidate.pid,
          argv: candidate.argv,
          matchedBy: listen.kind === 'fd' ? 'socket-activation' : matchedBy,
          systemdUnit: await systemdUnitOf(host, candidate.pid),
        };
      }
    }
  }
  return undefined;
}

async function configuredHosts(host: Host, configFile: string): Promise<string[]> {
  const text = await host.readFile(configFile).catch(() => undefined);
  if (text === undefined) return [];
  const parsed = parseDaemonJson(text);
  if (!parsed.ok) return [];
  const hosts = parsed.value.hosts;
  return Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : [];
}

/** The systemd service a process runs under, from /proc/<pid>/cgroup (v1 name=systemd or v2). */
export async function systemdUnitOf(host: Host, pid: number): Promise<string | undefined> {
  const text = await host.readFile(`/proc/${pid}/cgroup`).catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split('\n').filter((l) => l.startsWith('0::') || l.includes(':name=systemd:'));
  for (const line of lines) {
    const units = [...line.matchAll(/\/([^/]+\.service)(?=\/|$)/g)].map((m) => m[1]!);
    if (units.length > 0) return units.at(-1);
  }
  return undefined;
}
