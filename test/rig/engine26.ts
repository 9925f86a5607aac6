// Engine 26 (Debian trixie's dockerd 26.1.5, API 1.45) for rig daemons: the binaries come from
// scripts/fetch-engine26.sh (downloaded once, pinned by sha256, shared with the system kit).
// It runs with this machine's containerd 1.6 and runc 1.1; its own docker-proxy goes with it.
import { join } from 'node:path';
import type { DaemonOptions } from './dockerd.js';
import { REPO_ROOT } from './paths.js';
import { runOk } from './proc.js';

/** The options that make startDockerd run Engine 26 instead of Debian's 20.10. */
export async function engine26Options(): Promise<Required<Pick<DaemonOptions, 'dockerd' | 'daemonConfig'>>> {
  const dir = (await runOk('bash', [join(REPO_ROOT, 'scripts', 'fetch-engine26.sh')], { timeoutMs: 600_000 })).trim();
  return { dockerd: join(dir, 'dockerd'), daemonConfig: { 'userland-proxy-path': join(dir, 'docker-proxy') } };
}
