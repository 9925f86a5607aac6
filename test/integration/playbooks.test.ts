// The fleet playbooks (playbooks/) run by Debian's ansible-playbook against two rig daemons
// that stand in for two hosts: the inventory gives each its own --docker-host, --state-dir and
// --daemon-config (ansible_connection: local). "ready-host" is a vfs daemon with the sample
// workload; "blocked-host" is a vfs daemon whose daemon.json an operator broke after it started
// (preflight blocker daemon-json-invalid). The test judges the outcome from Ansible's JSON
// callback (stats per host, task results) and from what the daemons end up as.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSampleWorkload,
  docker,
  ensureDist,
  REPO_ROOT,
  run,
  seedBaseImage,
  startDockerd,
  type DaemonHandle,
  type RunResult,
  type SampleWorkload,
} from '../rig/index.js';

const PLAYBOOKS = join(REPO_ROOT, 'playbooks');
const BROKEN_DAEMON_JSON = '{\n  "storage-driver": "vfs",\n}\n';

interface HostStats {
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
}
interface TaskResult {
  msg?: string;
  changed?: boolean;
  failed?: boolean;
}
interface AnsibleJson {
  plays: { tasks: { task: { name: string }; hosts: Record<string, TaskResult> }[] }[];
  stats: Record<string, HostStats>;
}
interface PlaybookRun {
  result: RunResult;
  json: AnsibleJson;
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
        devmapper_migrate_node: process.execPath,
        devmapper_migrate_report_dir: join(work, 'reports'),
        devmapper_migrate_poll_interval: 3,
      },
      hosts: {
        'blocked-host': hostVars('blocked-host', blocked!),
        'ready-host': {
          ...hostVars('ready-host', ready!),
          // The rig's daemons are not services: the command manager uses their own scripts.
          devmapper_migrate_answers: {
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
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_HOME: join(work, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
    ANSIBLE_REMOTE_TEMP: join(work, 'ansible-tmp'),
    ANSIBLE_ASYNC_DIR: join(work, 'ansible-async'),
    ANSIBLE_NOCOLOR: '1',
  };
  delete env.DOCKER_HOST;
  const result = await run('ansible-playbook', ['-i', join(work, 'inventory.yml'), join(PLAYBOOKS, name), ...args], {
    cwd: PLAYBOOKS,
    env,
    timeoutMs: 900_000,
  });
  let json: AnsibleJson;
  try {
    json = JSON.parse(result.stdout) as AnsibleJson;
  } catch {
    throw new Error(`ansible-playbook ${name} did not print JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { result, json };
}

function explain(run: PlaybookRun): string {
  const failed = run.json.plays.flatMap((p) => p.tasks).flatMap((t) => Object.entries(t.hosts).filter(([, r]) => r.failed).map(([h, r]) => `${h}: ${t.task.name}: ${r.msg ?? JSON.stringify(r)}`));
  return `exit ${run.result.code}; stats ${JSON.stringify(run.json.stats)}\nfailed: ${failed.join('\n')}\nstderr: ${run.result.stderr.slice(-2000)}`;
}

function taskMessages(run: PlaybookRun, task: string): string[] {
  return run.json.plays.flatMap((p) => p.tasks).filter((t) => t.task.name === task).flatMap((t) => Object.values(t.hosts).map((r) => r.msg ?? ''));
}

const driverOf = (daemon: DaemonHandle) => docker(daemon, 'info', '--format', '{{.Driver}}');

beforeAll(async () => {
  await ensureDist();
  work = mkdtempSync(join(tmpdir(), 'dmm-playbooks-'));
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
    expect(pf.json.stats['ready-host']?.failures, explain(pf)).toBe(0);
    expect(pf.json.stats['blocked-host']?.failures, explain(pf)).toBe(0);

    const summary = JSON.parse(readFileSync(join(work, 'reports', 'preflight-summary.json'), 'utf8')) as FleetSummary;
    expect(summary).toMatchObject({ hosts: 2, ready: ['ready-host'], blocked: { 'blocked-host': ['daemon-json-invalid'] }, failed: [] });
    expect(summary.blocked_by_key).toEqual({ 'daemon-json-invalid': ['blocked-host'] });
    const [text] = taskMessages(pf, 'Show the fleet summary');
    expect(text).toMatch(/^Fleet preflight: 2 host\(s\): 1 ready, 1 blocked/);
    expect(text).toMatch(/^ready +ready-host \(vfs -> overlay2/m);
    expect(text).toMatch(/^blocked +blocked-host: daemon-json-invalid$/m);
    // Each host's whole report is on the controller.
    const report = JSON.parse(readFileSync(join(work, 'reports', 'blocked-host', 'preflight.json'), 'utf8')) as { summary: { blockers: number } };
    expect(report.summary.blockers).toBe(1);
    // Read-only: both daemons as they were, no run started.
    expect(await driverOf(ready!)).toBe('vfs');
    expect(readFileSync(blocked!.configFile, 'utf8')).toBe(BROKEN_DAEMON_JSON);
    expect(existsSync(join(work, 'ready-host', 'state', 'current'))).toBe(false);
  });

  it('preflight.yml --check reports the same fleet and changes nothing', async () => {
    const pf = await playbook('preflight.yml', '--check');
    expect(pf.result.code, explain(pf)).toBe(0);
    expect(pf.json.stats['ready-host']?.changed, explain(pf)).toBe(0);
    expect(pf.json.stats['blocked-host']?.changed, explain(pf)).toBe(0);
    const [text] = taskMessages(pf, 'Show the fleet summary');
    expect(text).toMatch(/^blocked +blocked-host: daemon-json-invalid$/m);
    expect(text).toMatch(/^ready +ready-host /m);
  });

  it('migrate.yml stops the rollout at the blocked host, before any change to either', async () => {
    const mig = await playbook('migrate.yml');
    expect(mig.result.code, explain(mig)).not.toBe(0);
    expect(mig.json.stats['blocked-host'], explain(mig)).toMatchObject({ failures: 1, changed: 0 });
    // serial starts with one host (blocked-host, first in the inventory); its failure ends the play.
    expect(mig.json.stats['ready-host'], explain(mig)).toBeUndefined();
    expect(taskMessages(mig, 'Stop when preflight found blockers (nothing was changed)').join('\n')).toContain('daemon-json-invalid');
    expect(await driverOf(ready!)).toBe('vfs');
    expect(await driverOf(blocked!)).toBe('vfs');
    expect(readFileSync(blocked!.configFile, 'utf8')).toBe(BROKEN_DAEMON_JSON);
    expect(existsSync(join(work, 'ready-host', 'state', 'current'))).toBe(false);
  });

  it('migrate.yml migrates the ready host to the answers\' target and fetches its report', async () => {
    const mig = await playbook('migrate.yml', '--limit', 'ready-host');
    expect(mig.result.code, explain(mig)).toBe(0);
    expect(mig.json.stats['ready-host']?.changed, explain(mig)).toBeGreaterThan(0);
    expect(await driverOf(ready!)).toBe('overlay2');
    expect(JSON.parse(readFileSync(ready!.configFile, 'utf8'))['storage-driver']).toBe('overlay2');
    expect(await docker(ready!, 'inspect', '--format', '{{.State.Running}}', sample.running)).toBe('true');
    const response = await fetch(sample.url);
    expect(await response.text()).toContain('devmapper-migrate demo');

    const answers = readFileSync(join(work, 'ready-host', 'etc', 'answers.yaml'), 'utf8');
    expect(answers).toMatch(/^target: overlay2$/m);
    expect(answers).not.toMatch(/password:/i);
    const report = JSON.parse(readFileSync(join(work, 'reports', 'ready-host', 'report.json'), 'utf8')) as { differences: number; expect: { driver: string } };
    expect(report).toMatchObject({ differences: 0, expect: { driver: 'overlay2' } });
    expect(taskMessages(mig, 'Show the outcome').join('\n')).toMatch(/^migrated: run \S+ is completed, verified clean/);
  }, 900_000);

  it('a second migrate.yml reports the migrated host ok, changed=0', async () => {
    const again = await playbook('migrate.yml', '--limit', 'ready-host');
    expect(again.result.code, explain(again)).toBe(0);
    expect(again.json.stats['ready-host'], explain(again)).toMatchObject({ changed: 0, failures: 0 });
    expect(again.json.stats['ready-host']?.ok).toBeGreaterThan(0);
    expect(taskMessages(again, 'Show the outcome').join('\n')).toMatch(/^already-migrated: run \S+ is completed/);
    expect(await driverOf(ready!)).toBe('overlay2');
  });
});
