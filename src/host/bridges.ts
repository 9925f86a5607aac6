/**
 * Linux bridges a stopped dockerd leaves behind. dockerd does not delete the `br-<id>` bridge
 * of a user-defined network when it stops; the daemon that comes next (the target, or the old
 * one on rollback) creates its own bridge for the same network under a new ID, with the same
 * subnet, and the kernel then has two routes for it: the first, through the dead bridge, wins,
 * and published ports and traffic to the containers go nowhere ("Connection reset by peer").
 */
import type { Host } from './host.js';

export interface RemovedBridge {
  name: string;
  address: string;
}

/**
 * Deletes the bridges that hold an IPv4 address inside one of `subnets` (a recorded network's
 * subnet), are bridges (/sys/class/net/<name>/bridge) and are down (no daemon uses them: a
 * running daemon's bridge with containers on it is up). Call it only while no dockerd runs.
 * Uses `ip -o -4 addr show`, which iproute2 as old as RHEL 7's knows. Returns what was deleted.
 * `names`, when given, are the only bridges it may delete (those the plan named): another
 * daemon's bridge for the same subnet is not this run's.
 */
export async function removeLeftoverBridges(host: Host, subnets: readonly string[], names?: readonly string[]): Promise<RemovedBridge[]> {
  const wanted = subnets.map(parseCidr).filter((cidr): cidr is Cidr => cidr !== undefined);
  if (!wanted.length) return [];
  const listed = await host.run('ip', ['-o', '-4', 'addr', 'show'], { timeoutMs: 10_000 });
  if (listed.exitCode !== 0) return [];
  const removed: RemovedBridge[] = [];
  for (const { name, address } of parseAddrLines(listed.stdout)) {
    const cidr = parseCidr(address);
    if (!cidr || !wanted.some((subnet) => sameNetwork(subnet, cidr))) continue;
    if (names && !names.includes(name)) continue;
    if (!(await host.stat(`/sys/class/net/${name}/bridge`))) continue;
    const state = (await host.readFile(`/sys/class/net/${name}/operstate`))?.trim();
    if (state === 'up') continue;
    const deleted = await host.run('ip', ['link', 'delete', name], { timeoutMs: 10_000 });
    if (deleted.exitCode === 0) removed.push({ name, address });
  }
  return removed;
}

/** `5: br-1a2b3c4d5e6f    inet 172.28.5.1/24 brd 172.28.5.255 scope global br-1a2b3c4d5e6f\ ...` → name and address. */
export function parseAddrLines(text: string): { name: string; address: string }[] {
  const out: { name: string; address: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    if (match) out.push({ name: match[1]!, address: match[2]! });
  }
  return out;
}

interface Cidr {
  base: number;
  bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const bits = Number(match[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  return { base: octets.reduce((acc, o) => acc * 256 + o, 0), bits };
}

/** The address's network (with its own prefix length) is the subnet. */
function sameNetwork(subnet: Cidr, address: Cidr): boolean {
  if (subnet.bits !== address.bits) return false;
  const size = 2 ** (32 - subnet.bits);
  return Math.floor(subnet.base / size) === Math.floor(address.base / size);
}
