// Network plumbing that keeps rig daemons apart from each other and from anything else on
// the machine. Each daemon claims a "slot" K and owns 10.K.0.0/16: its default bridge
// dmrigK is 10.K.0.1/24, tests take explicit subnets from 10.K.1-127.0/24, and the daemon
// allocates networks without a subnet from 10.K.128.0/17 (default-address-pools).
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { RIG_DIR, ensureRigDir } from './paths.js';
import { run, runOk } from './proc.js';

const SLOT_MIN = 100;
const SLOT_MAX = 250;

export const bridgeName = (slot: number) => `dmrig${slot}`;
export const slotDir = (slot: number) => join(RIG_DIR, `d${slot}`);
export const slotPrefix = (slot: number) => `10.${slot}`;

/** The slot a daemon directory belongs to (its name is d<K>), if any. */
export function slotOf(dir: string): number | undefined {
  const match = /\/d(\d+)$/.exec(dir);
  return match ? Number(match[1]) : undefined;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** True when two IPv4 CIDRs share any address. */
export function cidrOverlaps(a: string, b: string): boolean {
  const [aip = '', alen = '32'] = a.split('/');
  const [bip = '', blen = '32'] = b.split('/');
  const bits = Math.min(Number(alen), Number(blen));
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((toInt(aip) & mask) >>> 0) === ((toInt(bip) & mask) >>> 0);
}

/** Every IPv4 prefix the host routes or holds an address in. */
async function usedPrefixes(): Promise<string[]> {
  const routes = await runOk('ip', ['-4', 'route', 'show', 'table', 'all']);
  const addrs = await runOk('ip', ['-4', '-o', 'addr', 'show']);
  const found: string[] = [];
  for (const line of routes.split('\n')) {
    const first = line.trim().split(/\s+/)[0] === 'local' ? line.trim().split(/\s+/)[1] : line.trim().split(/\s+/)[0];
    if (first && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(first) && !first.endsWith('/0')) found.push(first);
  }
  for (const match of addrs.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) found.push(match[1]!);
  return found;
}

/**
 * Claims a free slot: its directory is created atomically (mkdir fails when another run
 * holds it) and its 10.K.0.0/16 must not overlap anything the host already routes.
 */
export async function claimSlot(): Promise<number> {
  ensureRigDir();
  const used = await usedPrefixes();
  for (let slot = SLOT_MIN; slot <= SLOT_MAX; slot++) {
    if (used.some((prefix) => cidrOverlaps(prefix, `${slotPrefix(slot)}.0.0/16`))) continue;
    try {
      mkdirSync(slotDir(slot));
      return slot;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`no free rig slot in 10.${SLOT_MIN}-${SLOT_MAX}.0.0/16 (see ${RIG_DIR})`);
}

const ruleComment = (slot: number) => `dmm-rig-${slot}`;

function forwardRules(slot: number): string[][] {
  const range = `${slotPrefix(slot)}.0.0/16`;
  return [['-s', range], ['-d', range]].map((match) => [...match, '-m', 'comment', '--comment', ruleComment(slot), '-j', 'ACCEPT']);
}

/**
 * Lets the slot's traffic through FORWARD. The daemons run with --iptables=false, but a
 * system dockerd (started when docker.io is installed on a systemd machine) sets the FORWARD
 * policy to DROP and loads br_netfilter, which would cut containers on one bridge off from
 * each other. Best effort: without iptables there is nothing to open.
 */
async function openForwarding(slot: number): Promise<void> {
  for (const rule of forwardRules(slot)) await run('iptables', ['-I', 'FORWARD', ...rule]).catch(() => undefined);
}

/** Deletes the slot's FORWARD rules (every copy, in case an earlier run left some). */
export async function closeForwarding(slot: number): Promise<void> {
  for (const rule of forwardRules(slot)) {
    for (let i = 0; i < 10; i++) {
      const result = await run('iptables', ['-D', 'FORWARD', ...rule]).catch(() => ({ code: 1 }));
      if (result.code !== 0) break;
    }
  }
}

/** Slots that have FORWARD rules (for the sweeper). */
export async function slotsWithRules(): Promise<number[]> {
  const result = await run('iptables', ['-S', 'FORWARD']).catch(() => ({ code: 1, stdout: '' }));
  if (result.code !== 0) return [];
  return [...new Set([...result.stdout.matchAll(/--comment "?dmm-rig-(\d+)"?/g)].map((m) => Number(m[1])))];
}

/** Creates the daemon's private default bridge with 10.K.0.1/24. */
export async function createBridge(slot: number): Promise<string> {
  const name = bridgeName(slot);
  await run('ip', ['link', 'del', name]);
  await runOk('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  await runOk('ip', ['addr', 'add', `${slotPrefix(slot)}.0.1/24`, 'dev', name]);
  await runOk('ip', ['link', 'set', name, 'up']);
  await openForwarding(slot);
  return name;
}

/**
 * Deletes the named bridges and every bridge holding an address inside the slot's /16
 * (the daemon's user-defined networks outlive it as br-<id> interfaces).
 */
export async function removeBridges(slot: number | undefined, names: readonly string[]): Promise<void> {
  const doomed = new Set(names);
  if (slot !== undefined) {
    doomed.add(bridgeName(slot));
    const addrs = await runOk('ip', ['-4', '-o', 'addr', 'show']);
    for (const line of addrs.split('\n')) {
      const match = /^\d+:\s+(\S+)\s+inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
      if (match && cidrOverlaps(match[2]!, `${slotPrefix(slot)}.0.0/16`)) doomed.add(match[1]!);
    }
  }
  if (slot !== undefined) await closeForwarding(slot);
  const links = await runOk('ip', ['-o', 'link', 'show', 'type', 'bridge']);
  const present = new Set([...links.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]!));
  for (const name of doomed) {
    if (present.has(name)) await run('ip', ['link', 'del', name]);
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
