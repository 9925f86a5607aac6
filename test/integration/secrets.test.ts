// Secrets and permissions (issue 10). A canary registry password, given through passwordEnv,
// is used for a real push to a rig registry with htpasswd auth, and must never appear in the
// state dir, run.log, the reports, `--dry-run` output, the CLI's stdout/stderr, or any
// process's command line (sampled every 50 ms in the background while the run pushes), nor be
// handed on in the environment of the commands the tool runs. The state dir and the archives
// are private (0700/0600); a state dir owned by another user or writable by others is refused.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, docker, ensureDist, startRegistry, type RegistryHandle, type RunResult } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { APP, cli, currentRun, explain, expectHost, readState, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

const PASSWORD_ENV = 'DMM_CANARY_REGISTRY_PASSWORD';

let rig: FaultRig | undefined;
let registry: RegistryHandle | undefined;
/** The registry's real password (random): the push must succeed with it. */
let canary = '';
/** A password in a container's environment (random): the run must keep it until finalize, and no longer. */
const envCanary = `env-${randomBytes(18).toString('hex')}`;
const outputs: { what: string; result: RunResult }[] = [];

beforeAll(async () => {
  await ensureDist();
  [rig, registry] = await Promise.all([setUpRig('secrets'), startRegistry({ auth: true })]);
  canary = registry.password;
  expect(canary.length).toBeGreaterThanOrEqual(16);
  await docker(rig.daemon, 'create', '--name', 'fault-env-secret', '-e', `DB_PASSWORD=${envCanary}`, APP);
  rig.before = await hostSnapshot(rig.daemon);
  writeAnswers(rig, {
    extra: ['images:', '  push: true', 'registry:', `  address: ${registry.address}`, '  repositoryPrefix: canary/', `  username: ${registry.username}`, `  passwordEnv: ${PASSWORD_ENV}`].join('\n'),
  });
}, 600_000);

afterAll(async () => {
  const results = await Promise.allSettled([tearDown(rig), registry?.stop()]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

/** The CLI with the canary in its environment; every output is kept for the leak check. */
async function withCanary(what: string, args: string[], stateDir?: string): Promise<RunResult> {
  const result = await cli(rig!, args, { [PASSWORD_ENV]: canary }, stateDir);
  outputs.push({ what, result });
  return result;
}

/**
 * The forms a leaked password takes: as is, and inside base64 (an X-Registry-Auth header or a
 * config.json "auth" entry) at each of the three byte alignments.
 */
function leakForms(secret: string): string[] {
  const forms = [secret];
  for (const pad of ['', 'x', 'xx']) {
    const encoded = Buffer.from(pad + secret).toString('base64');
    // Drop the characters that mix in the padding or what follows the secret.
    const start = Math.ceil((pad.length * 4) / 3);
    const end = Math.floor(((pad.length + secret.length) * 4) / 3);
    forms.push(encoded.slice(start, end));
    forms.push(encoded.slice(start, end).replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(forms)].filter((f) => f.length >= 12);
}

function leaksIn(text: string, secret = canary): string[] {
  return leakForms(secret).filter((form) => text.includes(form));
}

/** Every regular file below dir with the leak forms it holds. */
function leakingFiles(dir: string, secret = canary): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else if (st.isFile() && leaksIn(readFileSync(path, 'latin1'), secret).length) found.push(path);
  };
  walk(dir);
  return found;
}

/** Everything below dir whose mode lets group or others in (dirs must be 0700-ish, files 0600-ish). */
function notPrivate(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) found.push(`${path} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return found;
}

interface Sampler {
  stop(): Promise<{ samples: number; cmdlineLeaks: string[]; environLeaks: string[]; sawCli: boolean }>;
}

/**
 * Reads every process's command line (and environment) every 50 ms until stopped. The CLI
 * itself is allowed the password in its own environment (that is how passwordEnv works); no
 * other process may have it in its environment, and none on its command line.
 */
function sampleProcesses(): Sampler {
  const cmdlineLeaks = new Set<string>();
  const environLeaks = new Set<string>();
  let samples = 0;
  let sawCli = false;
  const tick = () => {
    samples++;
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        continue; // gone meanwhile
      }
      const words = cmdline.split('\0').join(' ');
      if (words.includes(DIST)) sawCli = true;
      if (leaksIn(cmdline).length) cmdlineLeaks.add(`${pid}: ${words.slice(0, 200)}`);
      if (words.includes(DIST) || Number(pid) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(canary)) environLeaks.add(`${pid}: ${words.slice(0, 200)}`);
      } catch {
        // gone meanwhile, or a kernel thread
      }
    }
  };
  const timer = setInterval(tick, 50);
  return {
    async stop() {
      clearInterval(timer);
      tick();
      return { samples, cmdlineLeaks: [...cmdlineLeaks], environLeaks: [...environLeaks], sawCli };
    },
  };
}

describe('a state dir that is not private', () => {
  it('is refused when another user owns it (exit 4, clear message, nothing changed)', async () => {
    const foreign = join(rig!.work, 'foreign-state');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    const result = await withCanary('run (foreign state dir)', ['run', '--answers', rig!.answersPath, '--yes'], foreign);
    expect(result.code, explain(rig!, result)).toBe(4);
    expect(result.stderr).toContain(foreign);
    expect(result.stderr).toMatch(/uid 65534/);
    expect(readdirSync(foreign)).toEqual([]);
    expect(statSync(foreign).uid).toBe(65534);
    await expectHost(rig!, 'vfs');
  }, 300_000);

  it('is refused when others can write to it (exit 4, clear message, its mode left alone)', async () => {
    const open = join(rig!.work, 'open-state');
    mkdirSync(open);
    chmodSync(open, 0o777);
    for (const args of [['run', '--answers', rig!.answersPath, '--yes'], ['resume', '--yes'], ['rollback', '--yes']]) {
      const result = await withCanary(`${args[0]} (open state dir)`, args, open);
      expect(result.code, `${args[0]}\n${explain(rig!, result)}`).toBe(4);
      expect(result.stderr).toContain(open);
      expect(result.stderr).toMatch(/written by other users|writable/i);
    }
    expect(statSync(open).mode & 0o777).toBe(0o777);
    expect(readdirSync(open)).toEqual([]);
    await expectHost(rig!, 'vfs');
  }, 300_000);
});

describe('the registry password (a canary)', () => {
  it('is not in the --dry-run output', async () => {
    const result = await withCanary('run --dry-run', ['run', '--answers', rig!.answersPath, '--dry-run']);
    expect(result.code, explain(rig!, result)).toBe(0);
    expect(result.stdout).toMatch(/push-images/);
    expect(leaksIn(result.stdout + result.stderr)).toEqual([]);
  }, 300_000);

  let sampled: Awaited<ReturnType<Sampler['stop']>> | undefined;

  it('pushes for real, and appears on no process’s command line meanwhile', async () => {
    const sampler = sampleProcesses();
    let result: RunResult;
    try {
      result = await withCanary('run', ['run', '--answers', rig!.answersPath, '--yes']);
    } finally {
      sampled = await sampler.stop();
    }
    expect(result.code, explain(rig!, result)).toBe(0);
    // The push happened with the canary (the registry accepted it), and the sampler saw the run.
    const pushed = Object.entries(readState(rig!.stateDir).units).filter(([key]) => key.startsWith('push:'));
    expect(pushed.length, 'push units').toBeGreaterThanOrEqual(3);
    expect(sampled.sawCli).toBe(true);
    expect(sampled.samples).toBeGreaterThan(20);
    expect(sampled.cmdlineLeaks, 'command lines holding the password').toEqual([]);
  }, 600_000);

  // Found by this test and fixed: Host.run handed the whole environment, passwordEnv's
  // variable included, to every command the tool ran, so a dockerd started through the
  // `command` manager kept the registry password in /proc/<pid>/environ while it ran.
  it('is not handed on in the environment of the commands the tool runs', () => {
    expect(sampled, 'the run above was sampled').toBeDefined();
    expect(sampled!.environLeaks, 'processes other than the CLI holding the password in their environment').toEqual([]);
  });

  it('is nowhere in the state dir: state.json, answers.json, run.log, report.json, report.txt, archives', async () => {
    const { runDir } = currentRun(rig!.stateDir);
    for (const name of ['state.json', 'answers.json', 'plan.json', 'run.log', 'report.json', 'report.txt']) {
      expect(statSync(join(runDir, name)).isFile(), name).toBe(true);
    }
    expect(readFileSync(join(runDir, 'answers.json'), 'utf8')).toContain(PASSWORD_ENV); // the variable's name, not its value
    expect(leakingFiles(rig!.stateDir)).toEqual([]);
    expect(leakingFiles(rig!.work)).toEqual([]);
  });

  it('is in none of the CLI’s outputs, also of status and verify', async () => {
    await withCanary('status', ['status']);
    await withCanary('status --json', ['status', '--json']);
    await withCanary('verify', ['verify']);
    const leaking = outputs.filter(({ result }) => leaksIn(result.stdout + result.stderr).length).map(({ what }) => what);
    expect(leaking).toEqual([]);
    expect(outputs.length).toBeGreaterThanOrEqual(9);
  });
});

describe('permissions of what the run wrote', () => {
  it('the state dir is 0700, every directory below it 0700 and every file 0600 (archives included)', () => {
    expect(statSync(rig!.stateDir).mode & 0o777).toBe(0o700);
    const { runDir } = currentRun(rig!.stateDir);
    const archives = ['images', 'layers', 'volumes'].flatMap((kind) => readdirSync(join(runDir, kind)).map((name) => join(runDir, kind, name)));
    expect(archives.filter((f) => f.endsWith('.tar')).length).toBeGreaterThanOrEqual(4); // 2 images, 1 volume, the writable layers
    for (const file of archives) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(notPrivate(rig!.stateDir)).toEqual([]);
  });
});

// Kept on purpose until finalize: restore recreates the containers from inventory.json (their
// environment included) and rollback writes config-backup/ back verbatim. Finalize removes both.
describe('secrets the run keeps until finalize', () => {
  it('a container environment password: in the private inventory.json until finalize, then nowhere in the state dir', async () => {
    const { runDir } = currentRun(rig!.stateDir);
    expect(readFileSync(join(runDir, 'inventory.json'), 'utf8')).toContain(envCanary);
    expect(existsSync(join(runDir, 'config-backup'))).toBe(true);
    const finalized = await withCanary('finalize', ['finalize', '--yes']);
    expect(finalized.code, explain(rig!, finalized)).toBe(0);
    expect(finalized.stdout).toMatch(/config-backup/);
    expect(existsSync(join(runDir, 'config-backup'))).toBe(false);
    expect(leakingFiles(rig!.stateDir, envCanary)).toEqual([]);
    // verify still works on the finalized run: the variable is compared by its name.
    const verify = await withCanary('verify after finalize', ['verify']);
    expect(verify.code, explain(rig!, verify)).toBe(0);
    expect(outputs.filter(({ result }) => leaksIn(result.stdout + result.stderr, envCanary).length).map(({ what }) => what)).toEqual([]);
  }, 600_000);
});
