// Global setup of the system tier: the cached kit (qemu, kernel, initramfs) and a fresh
// single-file build, which is what the guests run (`node <project>/dist/devmapper-migrate.mjs`).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { KIT_DIR, PROJECT_DIR, SYSTEM_DIR } from './vm.js';

export default function setup(): void {
  let started = Date.now();
  execFileSync('bash', [path.join(SYSTEM_DIR, 'prepare-kit.sh'), KIT_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`system tier: kit ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${KIT_DIR})`);
  if (process.env.DMM_SYSTEM_SKIP_BUILD) return;
  started = Date.now();
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: PROJECT_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`system tier: dist/devmapper-migrate.mjs built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
