// The fleet playbooks (playbooks/) run by Debian's ansible-playbook against two rig daemons
// that stand in for two hosts: the inventory gives each its own --docker-host, --state-dir and
// --daemon-config (ansible_connection: local). "ready-host" is a vfs daemon with the sample
// workload; "blocked-host" is a vfs daemon whose daemon.json an operator broke after it started
// (preflight blocker daemon-json-invalid). The test judges the outcome from the PLAY RECAP, the
// summary and reports the playbooks leave on the controller, and what the daemons end up as.
// Ansible runs with no Node on PATH: ready-host gets the release tarball (the tool with its own
// Node 16.20.2 runtime, as on RHEL 7), blocked-host the single file on this machine's Node
// (devmapper_migrate_node: a host that already has Node).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSampleWorkload,
  docker,
  REPO_ROOT,
  run,
  seedBaseImage,
  startDockerd,
  type DaemonHandle,
  type RunResult,
  type SampleWorkload,
} from '../rig/index.js';
import { flattenOutput, playRecap, type HostStats } from '../rig/ansible.js';
import { ensureArtifact, pathWithoutNode } from '../rig/artifact.js';

const PLAYBOOKS = join(REPO_ROOT, 'playbooks');
// A registry password that reaches the run only through Ansible (the controller's environment).
const REGISTRY_PASSWORD = `pb-secret-${process.pid}-x7`;
const BROKEN_DAEMON_JSON = '{\n  "storage-driver": "vfs",\n}\n';

interface PlaybookRun {
  result: RunResult;
  /** Per host, from the PLAY RECAP; a host the play never reached is absent. */
  stats: Record<string, HostStats>;
  /** stdout with runs of whitespace made one space (the YAML result format folds long messages). */
  flat: string;
}
interface FleetSummary {
  hosts: number;
  ready: string[];
  blocked: Record<string, string[]>;
  blocked_by_key: Record<string, string[]>;
  failed: string[];
}

let work: string;
let ready: DaemonHandle | undefined;
let blocked: DaemonHandle | undefined;
let blockedConfig: string;
let sample: SampleWorkload;
let pathWithout: string;

function hostVars(name: string, daemon: DaemonHandle): Record<string, unknown> {
  return {
    devmapper_migrate_docker_host: daemon.dockerHost,
    devmapper_migrate_daemon_config: daemon.configFile,
    devmapper_migrate_state_dir: join(work, name, 'state'),
    devmapper_migrate_install_dir: join(work, name, 'bin'),
    devmapper_migrate_answers_path: join(work, name, 'etc', 'answers.yaml'),
  };
}

/** JSON is YAML: the inventory as the yaml plugin reads it. blocked-host comes first (serial order). */
function writeInventory(): string {
  const inventory = {
    docker_hosts: {
      vars: {
        ansible_connection: 'local',
        ansible_python_interpreter: '/usr/bin/python3',
        devmapper_migrate_report_dir: join(work, 'reports'),
        devmapper_migrate_poll_interval: 3,
      },
      hosts: {
        'blocked-host': { ...hostVars('blocked-host', blocked!), devmapper_migrate_node: process.execPath },
        'ready-host': {
          ...hostVars('ready-host', ready!),
          devmapper_migrate_registry_password: "{{ lookup('ansible.builtin.env', 'PB_TEST_REGISTRY_PASSWORD') }}",
          devmapper_migrate_registry_password_file: join(work, 'ready-host', 'etc', 'registry-password'),
          // The rig's daemons are not services: the command manager uses their own scripts.
          // A registry with a login, not pushed to (images.push: false): the secret's path only.
          devmapper_migrate_answers: {
            registry: { address: '127.0.0.1:5999', username: 'deploy' },
            volumes: { archive: true },
            service: { manager: 'command', stop: `bash ${ready!.stopScript}`, start: `bash ${ready!.startScript}`, timeoutSeconds: 120 },
          },
        },
      },
    },
  };
  const path = join(work, 'inventory.yml');
  writeFileSync(path, JSON.stringify(inventory, null, 2) + '\n');
  return path;
}

async function playbook(name: string, ...args: string[]): Promise<PlaybookRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_CONFIG: join(PLAYBOOKS, 'ansible.cfg'),
    ANSIBLE_HOME: join(work, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
    ANSIBLE_REMOTE_TEMP: join(work, 'ansible-tmp'),
    ANSIBLE_ASYNC_DIR: join(work, 'ansible-async'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    PB_TEST_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
    PATH: pathWithout,
  };
  delete env.DOCKER_HOST;
  const result = await run('ansible-playbook', ['-i', join(work, 'inventory.yml'), join(PLAYBOOKS, name), ...args], {
    cwd: PLAYBOOKS,
    env,
    timeoutMs: 900_000,
  });
  const stats = playRecap(result.stdout);
  if (Object.keys(stats).length === 0) {
    throw new Error(`ansible-playbook ${name} printed no PLAY RECAP (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { result, stats, flat: flattenOutput(result.stdout) };
}

function explain(run: PlaybookRun): string {
  return `exit ${run.result.code}; stats ${JSON.stringify(run.stats)}\n--- stdout (end)\n${run.result.stdout.slice(-6000)}\n--- stderr\n${run.result.stderr.slice(-2000)}`;
}

/** Files under dir whose bytes contain text (state dirs hold archives: read as bytes). */
function filesContaining(dir: string, text: string): string[] {
  const needle = Buffer.from(text);
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    if (readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

const driverOf = (daemon: DaemonHandle) => docker(daemon, 'info', '--format', '{{.Driver}}');

beforeAll(async () => {
  await ensureArtifact();
  work = mkdtempSync(join(tmpdir(), 'dmm-playbooks-'));
  pathWithout = pathWithoutNode(work);
  ready = await startDockerd({ name: 'pb-ready', storageDriver: 'vfs' });
  blocked = await startDockerd({ name: 'pb-blocked', storageDriver: 'vfs' });
  await seedBaseImage(ready);
  sample = await createSampleWorkload(ready.info());
  // Broken after the start: the running daemon is fine, its next start would not be.
  blockedConfig = readFileSync(blocked.configFile, 'utf8');
  writeFileSync(blocked.configFile, BROKEN_DAEMON_JSON);
  writeInventory();
}, 600_000);

afterAll(async () => {
  // The config first, so that nothing of the test's making outlives it; then both daemons, even if one fails.
  if (blocked && blockedConfig) writeFileSync(blocked.configFile, blockedConfig);
  const results = await Promise.allSettled([ready?.stop(), blocked?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
});

describe('playbooks against two rig daemons', () => {
  it('preflight.yml: one fleet summary names the ready host and the blocked host with its key', async () => {
    const pf = await playbook('preflight.yml');
    expect(pf.result.code, explain(pf)).toBe(0);
    expect(pf.stats['ready-host']?.failed, explain(pf)).toBe(0);
    expect(pf.stats['blocked-host']?.failed, explain(pf)).toBe(0);

    const summary = JSON.parse(readFileSync(join(work, 'reports', 'preflight-summary.json'), 'utf8')) as FleetSummary;
    expect(summary).toMatchObject({ hosts: 2, ready: ['ready-host'], blocked: { 'blocked-host': ['daemon-json-invalid'] }, failed: [] });
    expect(summary.blocked_by_key).toEqual({ 'daemon-json-invalid': ['blocked-host'] });
    // The summary is a multi-line message: the YAML result format prints it as a block, line by line.
    const text = pf.result.stdout;
    expect(text, explain(pf)).toMatch(/^\s+Fleet preflight: 2 host\(s\): 1 ready, 1 blocked/m);
    expect(text).toMatch(/^\s+ready +ready-host \(vfs -> overlay2/m);
    expect(text).toMatch(/^\s+blocked +blocked-host: daemon-json-invalid$/m);
    // Each host's whole report is on the controller.
    const report = JSON.parse(readFileSync(join(work, 'reports', 'blocked-host', 'preflight.json'), 'utf8')) as { summary: { blockers: number } };
    expect(report.summary.blockers).toBe(1);
    // Read-only: both daemons as they were, no run started.
    expect(await driverOf(ready!)).toBe('vfs');
    expect(readFileSync(blocked!.configFile, 'utf8')).toBe(BROKEN_DAEMON_JSON);
    expect(existsSync(join(work, 'ready-host', 'state', 'current'))).toBe(false);
    // ready-host got the tarball (checked against its SHA256SUMS), blocked-host the single file.
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const unpacked = join(work, 'ready-host', 'bin', `devmapper-migrate-${version}-linux-x64`);
    expect(readdirSync(unpacked).sort()).toEqual(['SHA256SUMS', 'bin', 'lib', 'runtime']);
    expect(existsSync(join(work, 'ready-host', 'bin', 'devmapper-migrate.mjs'))).toBe(false);
    expect(readdirSync(join(work, 'blocked-host', 'bin'))).toEqual(['devmapper-migrate.mjs']);
  });

  it('preflight.yml --check reports the same fleet and changes nothing', async () => {
    const pf = await playbook('preflight.yml', '--check');
    expect(pf.result.code, explain(pf)).toBe(0);
    expect(pf.stats['ready-host']?.changed, explain(pf)).toBe(0);
    expect(pf.stats['blocked-host']?.changed, explain(pf)).toBe(0);
    expect(pf.result.stdout, explain(pf)).toMatch(/^\s+blocked +blocked-host: daemon-json-invalid$/m);
    expect(pf.result.stdout).toMatch(/^\s+ready +ready-host /m);
  });

  it('migrate.yml stops the rollout at the blocked host, before any change to either', async () => {
    const mig = await playbook('migrate.yml');
    expect(mig.result.code, explain(mig)).not.toBe(0);
    expect(mig.stats['blocked-host'], explain(mig)).toMatchObject({ failed: 1, changed: 0 });
    // serial starts with one host (blocked-host, first in the inventory); its failure ends the play.
    expect(mig.stats['ready-host'], explain(mig)).toBeUndefined();
    expect(mig.flat).toContain('Preflight found 1 blocker(s): daemon-json-invalid. Nothing was changed.');
    expect(await driverOf(ready!)).toBe('vfs');
    expect(await driverOf(blocked!)).toBe('vfs');
    expect(readFileSync(blocked!.configFile, 'utf8')).toBe(BROKEN_DAEMON_JSON);
    expect(existsSync(join(work, 'ready-host', 'state', 'current'))).toBe(false);
  });

  it('migrate.yml migrates the ready host to the answers\' target and fetches its report', async () => {
    const mig = await playbook('migrate.yml', '--limit', 'ready-host');
    expect(mig.result.code, explain(mig)).toBe(0);
    expect(mig.stats['ready-host']?.changed, explain(mig)).toBeGreaterThan(0);
    expect(await driverOf(ready!)).toBe('overlay2');
    expect(JSON.parse(readFileSync(ready!.configFile, 'utf8'))['storage-driver']).toBe('overlay2');
    expect(await docker(ready!, 'inspect', '--format', '{{.State.Running}}', sample.running)).toBe('true');
    // From the host, through the published port: this once failed because the old daemon's
    // br-<id> bridge, left with the same subnet, shadowed the new one (fixed in the cutover).
    expect(await (await fetch(sample.url)).text()).toContain('devmapper-migrate demo');

    const answers = readFileSync(join(work, 'ready-host', 'etc', 'answers.yaml'), 'utf8');
    expect(answers).toMatch(/^target: overlay2$/m);
    expect(answers).not.toMatch(/password:/i);
    // The secret: named by file in the answers, the file gone after the run, and nowhere in
    // the answers, the state dir, the reports or Ansible's output.
    expect(answers).toContain(`passwordFile: ${join(work, 'ready-host', 'etc', 'registry-password')}`);
    expect(existsSync(join(work, 'ready-host', 'etc', 'registry-password'))).toBe(false);
    expect(filesContaining(work, REGISTRY_PASSWORD)).toEqual([]);
    expect(mig.result.stdout + mig.result.stderr).not.toContain(REGISTRY_PASSWORD);
    const report = JSON.parse(readFileSync(join(work, 'reports', 'ready-host', 'report.json'), 'utf8')) as { differences: number; expect: { driver: string } };
    expect(report).toMatchObject({ differences: 0, expect: { driver: 'overlay2' } });
    expect(mig.flat).toMatch(/msg: '?migrated: run \S+ is completed, verified clean/);
  }, 900_000);

  it('a second migrate.yml reports the migrated host ok, changed=0', async () => {
    const again = await playbook('migrate.yml', '--limit', 'ready-host');
    expect(again.result.code, explain(again)).toBe(0);
    expect(again.stats['ready-host'], explain(again)).toMatchObject({ changed: 0, failed: 0 });
    expect(again.stats['ready-host']?.ok).toBeGreaterThan(0);
    expect(again.flat).toMatch(/msg: '?already-migrated: run \S+ is completed/);
    expect(await driverOf(ready!)).toBe('overlay2');
  });
});

describe('the playbooks as Ansible reads them', () => {
  const env = { ...process.env, ANSIBLE_CONFIG: join(PLAYBOOKS, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' };

  it('pass ansible-lint (production profile, playbooks/.ansible-lint)', async () => {
    const lint = await run('ansible-lint', [], { cwd: PLAYBOOKS, env, timeoutMs: 300_000 });
    expect(lint.code, `${lint.stdout}\n${lint.stderr}`).toBe(0);
    expect(lint.stderr).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
  });

  it('pass ansible-playbook --syntax-check with the example inventory', async () => {
    for (const name of ['preflight.yml', 'migrate.yml', 'rollback.yml', 'finalize.yml']) {
      const check = await run('ansible-playbook', ['--syntax-check', '-i', 'inventory/example', name], { cwd: PLAYBOOKS, env, timeoutMs: 120_000 });
      expect(check.code, `${name}: ${check.stdout}\n${check.stderr}`).toBe(0);
    }
    const inventory = await run('ansible-inventory', ['-i', 'inventory/example', '--list'], { cwd: PLAYBOOKS, env, timeoutMs: 120_000 });
    expect(inventory.code, inventory.stderr).toBe(0);
    const hosts = JSON.parse(inventory.stdout) as { _meta: { hostvars: Record<string, { devmapper_migrate_target?: string }> } };
    expect(hosts._meta.hostvars['batch01.example.com']?.devmapper_migrate_target).toBe('direct-lvm');
    expect(hosts._meta.hostvars['web01.example.com']?.devmapper_migrate_target).toBe('overlay2');
  });
});
