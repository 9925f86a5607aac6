// The Debian packages the rig needs. A fresh CI machine has none of them; apt may be busy
// with another job for a while, so lock errors are retried.
import { run, sleep } from './proc.js';

export const RIG_PACKAGES = ['docker.io', 'docker-registry', 'busybox-static', 'apache2-utils', 'iproute2', 'tar', 'attr'];

const LOCKED = /Could not get lock|Unable to acquire the dpkg frontend lock|dpkg frontend lock|is another process using it/i;

async function installed(pkg: string): Promise<boolean> {
  const result = await run('dpkg-query', ['-W', '-f=${Status}', pkg]).catch(() => ({ code: 1, stdout: '', stderr: '' }));
  return result.code === 0 && result.stdout.includes('install ok installed');
}

async function apt(args: string[], attempts = 20): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (let attempt = 1; ; attempt++) {
    const result = await run('apt-get', args, { env, timeoutMs: 900_000 });
    if (result.code === 0) return;
    const output = result.stderr + result.stdout;
    if (!LOCKED.test(output) || attempt >= attempts) {
      throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.code}):\n${output.slice(-3000)}`);
    }
    await sleep(10_000);
  }
}

/** Installs the rig's Debian packages that are missing (apt-get update once, then install). */
export async function ensurePackages(packages: readonly string[] = RIG_PACKAGES): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of packages) if (!(await installed(pkg))) missing.push(pkg);
  if (missing.length === 0) return [];
  await apt(['update']);
  await apt(['install', '-y', ...missing]);
  return missing;
}
