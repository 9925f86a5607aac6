// Reading ansible-playbook's output. Debian's ansible-core has no JSON stdout callback (that is
// in ansible.posix), so the tests judge a run by the default callback's PLAY RECAP. Used by the
// integration tier (rig daemons) and the system tier (a playbook run inside the guest).

/** One host's line of the PLAY RECAP. */
export interface HostStats {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
}

/** Per host, from the last PLAY RECAP in stdout; a host the play never reached is absent. */
export function playRecap(stdout: string): Record<string, HostStats> {
  const stats: Record<string, HostStats> = {};
  const section = stdout.slice(stdout.lastIndexOf('PLAY RECAP'));
  for (const match of section.matchAll(/^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$/gm)) {
    const counts = Object.fromEntries([...match[2]!.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    stats[match[1]!] = counts as unknown as HostStats;
  }
  return stats;
}

/** stdout with runs of whitespace made one space: the YAML result format folds long messages. */
export function flattenOutput(stdout: string): string {
  return stdout.replace(/\s+/g, ' ');
}
