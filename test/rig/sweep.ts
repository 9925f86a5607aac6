// Cleans what crashed earlier runs left under the rig's temp prefix: CI runs again and again
// on one machine. Only directories whose owner process is gone are touched, so daemons of a
// run in progress (another test job, another developer) survive.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { teardownDaemonDir } from './dockerd.js';
import { removeTree } from './mounts.js';
import { closeForwarding, removeBridges, slotDir, slotsWithRules } from './net.js';
import { RIG_DIR, ownerAlive, readOwner } from './paths.js';
import { runOk } from './proc.js';
import { teardownRegistryDir } from './registry.js';

// A directory without an owner record may be one being created right now.
const GRACE_MS = 120_000;

/** Tears down every rig daemon and registry whose owner is gone; returns what it cleaned. */
export async function sweep(): Promise<string[]> {
  const cleaned: string[] = [];
  if (existsSync(RIG_DIR)) {
    for (const entry of readdirSync(RIG_DIR)) {
      const dir = join(RIG_DIR, entry);
      if (ownerAlive(dir)) continue;
      const owner = readOwner(dir);
      if (!owner && Date.now() - statSync(dir).mtimeMs < GRACE_MS) continue;
      if (/^d\d+$/.test(entry)) await teardownDaemonDir(dir);
      else if (entry.startsWith('reg-')) await teardownRegistryDir(dir);
      else await removeTree(dir);
      cleaned.push(`${dir}${owner ? ` (${owner.kind} ${owner.name}, owner pid ${owner.ownerPid})` : ''}`);
    }
  }
  // Bridges of slots whose directory is already gone.
  const links = await runOk('ip', ['-o', 'link', 'show', 'type', 'bridge']);
  for (const match of links.matchAll(/^\d+:\s+dmrig(\d+)[:@]/gm)) {
    const slot = Number(match[1]);
    if (!existsSync(slotDir(slot))) {
      await removeBridges(slot, []);
      cleaned.push(`bridge dmrig${slot}`);
    }
  }
  // FORWARD rules of slots whose directory is gone.
  for (const slot of await slotsWithRules()) {
    if (!existsSync(slotDir(slot))) {
      await closeForwarding(slot);
      cleaned.push(`iptables rules dmm-rig-${slot}`);
    }
  }
  return cleaned;
}
