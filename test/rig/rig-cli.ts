// The rig from the shell (scripts/demo.sh): bundled on the fly to .cache/rig-cli.mjs.
//   rig-cli packages
//   rig-cli sweep
//   rig-cli up --state FILE [--name N] [--driver vfs] [--owner-pid PID] [--registry] [--sample]
//   rig-cli down --state FILE [--owner-pid PID]   (also everything owned by PID)
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDockerd, teardownDaemonDir, type DaemonInfo } from './dockerd.js';
import { seedBaseImage } from './images.js';
import { ensurePackages } from './packages.js';
import { RIG_DIR, readOwner } from './paths.js';
import { startRegistry, teardownRegistryDir, type RegistryInfo } from './registry.js';
import { createSampleWorkload, type SampleWorkload } from './sample.js';
import { sweep } from './sweep.js';

interface RigState {
  daemon?: DaemonInfo;
  registry?: RegistryInfo;
  sample?: SampleWorkload;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    state: { type: 'string' },
    name: { type: 'string', default: 'demo' },
    driver: { type: 'string', default: 'vfs' },
    'owner-pid': { type: 'string' },
    registry: { type: 'boolean', default: false },
    sample: { type: 'boolean', default: false },
  },
});

function requireState(): string {
  if (!values.state) throw new Error('--state FILE is required');
  return values.state;
}

async function up(): Promise<void> {
  const stateFile = requireState();
  const ownerPid = values['owner-pid'] ? Number(values['owner-pid']) : process.ppid;
  const state: RigState = {};
  // Record progress as it happens, so that `down` can clean a half-finished `up`.
  const save = () => writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n');
  const daemon = await startDockerd({ name: values.name!, storageDriver: values.driver!, ownerPid });
  state.daemon = daemon.info();
  save();
  if (values.registry) {
    state.registry = (await startRegistry({ auth: true, ownerPid })).info();
    save();
  }
  await seedBaseImage(daemon);
  if (values.sample) state.sample = await createSampleWorkload(daemon.info());
  save();
  console.log(`dockerd "${daemon.name}" (${values.driver}) listens on ${daemon.dockerHost}`);
  console.log(`  config ${daemon.configFile}, data-root ${daemon.dataRoot}, log ${daemon.logFile}`);
  if (state.registry) console.log(`registry on ${state.registry.address}`);
  if (state.sample) console.log(`sample workload: ${state.sample.running} serves ${state.sample.url}`);
}

/** Rig directories whose owner record names this pid (what an interrupted `up` left unrecorded). */
function ownedBy(pid: number): string[] {
  if (!existsSync(RIG_DIR)) return [];
  return readdirSync(RIG_DIR)
    .map((entry) => join(RIG_DIR, entry))
    .filter((dir) => readOwner(dir)?.ownerPid === pid);
}

async function down(): Promise<void> {
  const stateFile = requireState();
  let state: RigState = {};
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as RigState;
  } catch {
    // Empty or missing: `up` was interrupted before it recorded anything.
  }
  const dirs = new Set([state.daemon?.dir, state.registry?.dir].filter((d): d is string => Boolean(d)));
  if (values['owner-pid']) for (const dir of ownedBy(Number(values['owner-pid']))) dirs.add(dir);
  for (const dir of dirs) {
    if (basename(dir).startsWith('reg-')) await teardownRegistryDir(dir);
    else await teardownDaemonDir(dir);
  }
  rmSync(stateFile, { force: true });
  console.log(dirs.size ? `rig torn down (${[...dirs].join(', ')})` : 'rig: nothing to tear down');
}

async function mainCli(): Promise<void> {
  switch (positionals[0]) {
    case 'packages': {
      const installed = await ensurePackages();
      console.log(installed.length ? `installed ${installed.join(', ')}` : 'rig packages present');
      return;
    }
    case 'sweep':
      for (const item of await sweep()) console.log(`cleaned ${item}`);
      return;
    case 'up':
      return up();
    case 'down':
      return down();
    default:
      throw new Error('usage: rig-cli packages | sweep | up --state FILE [...] | down --state FILE');
  }
}

mainCli().catch((error: unknown) => {
  console.error(`rig-cli: ${(error as Error).message}`);
  process.exitCode = 1;
});
