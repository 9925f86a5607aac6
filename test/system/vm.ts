// Boots a throwaway qemu guest (TCG, Debian's kernel with device-mapper, this machine's root
// read-only over 9p under a tmpfs overlay) that runs one scenario script and powers off.
// The serial console is streamed line by line to the test log; the guest's exit code comes back
// as a marker line, and the files it writes to $DMM_OUT come back through a writable 9p share.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SYSTEM_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_DIR = path.resolve(SYSTEM_DIR, '../..');
export const KIT_DIR = process.env.DMM_SYSTEM_KIT ?? path.join(PROJECT_DIR, '.cache', 'system-kit');

/** A raw, sparse disk image attached as a virtio disk; the guest sees it as $DMM_DISK_<name>. */
export interface GuestDisk {
  name: string;
  sizeMB: number;
}

export interface BootOptions {
  /** Path of the shell script the guest runs (it must be on this machine's root file system). */
  scenario: string;
  disks?: GuestDisk[];
  /** qemu is killed when the guest has not finished by then. */
  timeoutMs: number;
  /** Exported to the scenario, next to the DMM_* variables the harness sets. */
  env?: Record<string, string>;
  memoryMB?: number;
  /** Virtual CPUs; default $DMM_GUEST_CPUS, else 1: under TCG on a 2-core host one vCPU boots and runs faster. */
  cpus?: number;
  /** Prefix of the console lines in the test log; defaults to the scenario's file name. */
  label?: string;
  /** Where console lines go; defaults to stdout. */
  log?: (line: string) => void;
}

export interface GuestResult {
  /** The scenario script's exit code, from the marker line on the console. */
  exitCode: number;
  /** The whole serial console, escape sequences removed. */
  console: string;
  /** Files the scenario wrote under $DMM_OUT, by relative path (text). */
  files: Record<string, string>;
  wallMs: number;
}

export interface Kit {
  kernelVersion: string;
  vmlinuz: string;
  initrd: string;
  modules: string;
  busyboxTar: string;
  qemu: string;
}

/** Reads the kit that test/system/prepare-kit.sh wrote, or says how to make it. */
export function loadKit(dir = KIT_DIR): Kit {
  const file = path.join(dir, 'kit.env');
  if (!existsSync(file)) {
    throw new Error(`no system-test kit at ${dir}: run \`bash test/system/prepare-kit.sh\` (as root) first`);
  }
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) vars.set(m[1], m[2]);
  }
  const get = (key: string): string => {
    const value = vars.get(key);
    if (!value) throw new Error(`${file} has no ${key}: run test/system/prepare-kit.sh again`);
    return value;
  };
  return {
    kernelVersion: get('KIT_KERNEL_VERSION'),
    vmlinuz: get('KIT_VMLINUZ'),
    initrd: get('KIT_INITRD'),
    modules: get('KIT_MODULES'),
    busyboxTar: get('KIT_BUSYBOX_TAR'),
    qemu: get('KIT_QEMU'),
  };
}

/** The absolute path of a scenario script in test/system/scenarios/. */
export function scenarioPath(name: string): string {
  return path.join(SYSTEM_DIR, 'scenarios', name.endsWith('.sh') ? name : `${name}.sh`);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** How many guests this process started are still running. */
export function runningGuests(): number {
  return live.size;
}

/** Kills every guest this process started and that is still running (for afterAll hooks). */
export function killAllGuests(): void {
  for (const child of live) child.kill('SIGKILL');
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies between tests must not leave a guest behind.
  process.once('exit', killAllGuests);
}

// SeaBIOS and the kernel write terminal escapes (ESC c, ESC [ ... m) that have no place in a log.
const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}[c()][0-9A-Za-z]?|\\r`, 'g');
const NAME = /^[A-Za-z0-9_]{1,20}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// qemu's option syntax and the kernel command line both split on these.
function checkPlainPath(what: string, p: string): void {
  if (/[\s,]/.test(p)) throw new Error(`${what} ${JSON.stringify(p)} must not contain spaces or commas`);
}

async function readOutputs(dir: string, base = dir): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      Object.assign(files, await readOutputs(full, base));
    } else if (entry.isFile() && (await stat(full)).size <= 16 * 1024 * 1024) {
      files[path.relative(base, full)] = await readFile(full, 'utf8');
    }
  }
  return files;
}

interface Plan {
  args: string[];
  nonce: string;
}

async function prepare(kit: Kit, opts: BootOptions, work: string): Promise<Plan> {
  const scenario = path.resolve(opts.scenario);
  if (!existsSync(scenario)) throw new Error(`scenario ${scenario} does not exist`);
  for (const [what, p] of [['scenario', scenario], ['project dir', PROJECT_DIR], ['kit dir', KIT_DIR], ['temp dir', work]]) {
    checkPlainPath(what as string, p as string);
  }
  const out = path.join(work, 'out');
  await mkdir(out);
  const nonce = randomBytes(6).toString('hex');
  const env: Record<string, string> = {
    DMM_NONCE: nonce,
    DMM_SCENARIO: scenario,
    DMM_PROJECT: PROJECT_DIR,
    DMM_KIT: KIT_DIR,
    DMM_LIB: path.join(SYSTEM_DIR, 'guest-lib.sh'),
    DMM_NODE: process.execPath,
    ...opts.env,
  };
  const lines = Object.entries(env).map(([key, value]) => {
    if (!ENV_KEY.test(key)) throw new Error(`bad environment variable name ${JSON.stringify(key)}`);
    return `export ${key}=${shellQuote(value)}`;
  });
  await writeFile(path.join(out, 'env.sh'), `${lines.join('\n')}\n`);

  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'loglevel=4',
    'edd=off',
    `dmm.init=${path.join(SYSTEM_DIR, 'guest-init.sh')}`,
    `dmm.kit=${KIT_DIR}`,
    `dmm.scenario=${scenario}`,
  ].join(' ');
  const args = [
    '-accel', 'tcg',
    '-m', String(opts.memoryMB ?? 2048),
    '-smp', String(opts.cpus ?? (Number(process.env.DMM_GUEST_CPUS) || 1)),
    '-nographic', '-nodefaults', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', kit.vmlinuz,
    '-initrd', kit.initrd,
    '-append', cmdline,
    // This machine's root, read-only: the guest runs its dockerd, lvm, node and the project.
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap,id=hostroot',
    '-virtfs', `local,path=${out},mount_tag=dmmout,security_model=passthrough,id=dmmout`,
  ];
  for (const [i, disk] of (opts.disks ?? []).entries()) {
    if (!NAME.test(disk.name)) throw new Error(`disk name ${JSON.stringify(disk.name)}: use [A-Za-z0-9_], at most 20`);
    const image = path.join(work, `${disk.name}.img`);
    await writeFile(image, '');
    await truncate(image, disk.sizeMB * 1024 * 1024);
    // The name travels as the virtio serial number; guest-init.sh exports DMM_DISK_<name>.
    args.push('-drive', `file=${image},format=raw,if=none,id=disk${i},cache=unsafe`);
    args.push('-device', `virtio-blk-pci,drive=disk${i},serial=${disk.name}`);
  }
  return { args, nonce };
}

function tail(lines: string[], n = 40): string {
  return lines.slice(-n).join('\n');
}

/** Boots a guest that runs one scenario and returns its exit code, console and output files. */
export async function bootGuest(opts: BootOptions): Promise<GuestResult> {
  const kit = loadKit();
  const label = opts.label ?? path.basename(opts.scenario, '.sh');
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const work = await mkdtemp(path.join(tmpdir(), `dmm-guest-${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
  const started = Date.now();
  let child: ChildProcess | undefined;
  try {
    const { args, nonce } = await prepare(kit, opts, work);
    const marker = new RegExp(`^@@DMM-EXIT ${nonce} (\\d+)@@$`);
    const lines: string[] = [];
    let exitCode: number | undefined;

    installExitHook();
    const proc = spawn(kit.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    const onLine = (stream: string) => (raw: string) => {
      const line = raw.replace(ANSI, '');
      lines.push(line);
      log(`[${label}${stream}] ${line}`);
      const m = marker.exec(line);
      if (m?.[1] !== undefined && exitCode === undefined) {
        exitCode = Number(m[1]);
        // The guest powers off right after the marker; do not wait for a guest that hangs there.
        setTimeout(() => proc.kill('SIGKILL'), 30_000).unref();
      }
    };
    createInterface({ input: proc.stdout }).on('line', onLine(''));
    createInterface({ input: proc.stderr }).on('line', onLine(' qemu'));

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`guest ${label} timed out after ${opts.timeoutMs} ms; last console lines:\n${tail(lines)}`));
      }, opts.timeoutMs);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('close', (code, signal) => {
        clearTimeout(timer);
        if (exitCode === undefined) {
          reject(new Error(`qemu ended (${signal ?? code}) without the guest's result; last console lines:\n${tail(lines)}`));
        } else {
          resolve();
        }
      });
    });
    const files = await readOutputs(path.join(work, 'out'));
    return { exitCode: exitCode as number, console: lines.join('\n'), files, wallMs: Date.now() - started };
  } finally {
    if (child) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child?.once('close', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      live.delete(child);
    }
    if (process.env.DMM_KEEP_GUEST_DIR) {
      log(`[${label}] kept ${work}`);
    } else {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/**
 * Boots a guest on this terminal for a person (`npm run try`): the guest's serial console is
 * this process's stdin and stdout, no time limit. Returns the scenario's exit code (from the
 * file guest-init.sh writes), or undefined when qemu was quit first (Ctrl-A X). The guest's
 * disks and temp dir are removed afterwards.
 */
export async function runGuestOnTerminal(opts: Omit<BootOptions, 'timeoutMs' | 'label' | 'log'>): Promise<number | undefined> {
  const kit = loadKit();
  const work = await mkdtemp(path.join(tmpdir(), 'dmm-guest-try-'));
  let child: ChildProcess | undefined;
  try {
    const { args } = await prepare(kit, { ...opts, timeoutMs: 0 }, work);
    installExitHook();
    child = spawn(kit.qemu, args, { stdio: 'inherit' });
    live.add(child);
    await new Promise<void>((resolve, reject) => {
      child!.once('error', reject);
      child!.once('close', () => resolve());
    });
    const code = await readFile(path.join(work, 'out', 'exit-code'), 'utf8').catch(() => undefined);
    return code === undefined ? undefined : Number(code.trim());
  } finally {
    if (child) live.delete(child);
    await rm(work, { recursive: true, force: true });
  }
}
