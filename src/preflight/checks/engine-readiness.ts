/**
 * Readiness for the target engine (--target-engine, default NEWEST_KNOWN_ENGINE): what the
 * host's daemon configuration sets that that engine refuses or drops (ENGINE_REMOVALS), RHEL's
 * `docker-runc` runtime name, API listeners without TLS, and the distribution's packages.
 */
import {
  dockerdArgsOf,
  execStartArgv,
  parseEnvironmentFile,
  referencedVariables,
} from '../../config/dockerd-flags.js';
import { wordsOf } from '../../text/words.js';
import type { Analysis } from '../analysis.js';
import {
  DEPRECATED_MD,
  ENGINE_REMOVALS,
  engineAtLeast,
  engineVersion,
  removalsUpTo,
  type EngineRemoval,
} from '../engine-removals.js';
import { entry, listText, type Check } from '../entry.js';
import { parseKernelRelease } from './overlay2.js';

/** dockerd arguments found in one place of the host's configuration. */
export interface OptionSource {
  /** "file:line (VARIABLE)", "file:line (ExecStart)" or the running command line. */
  where: string;
  args: string[];
}

/** A daemon setting read from a flag or daemon.json: `--name value` / "name": value. */
interface Setting {
  name: string;
  value?: string;
}

/** RHEL's docker package names its runc "docker-runc" (/usr/libexec/docker/docker-runc-current). */
const RHEL_RUNTIME = 'docker-runc';

/** Where dockerd's flags come from: the unit's ExecStart, the variables it expands, the running process. */
export function optionSources(a: Analysis): OptionSource[] {
  const sources: OptionSource[] = [];
  const { service } = a;
  const used = new Set(service.execStart ? referencedVariables(service.execStart) : []);
  if (service.execStart && service.source) {
    const argv = execStartArgv(service.execStart, {});
    sources.push({ where: `${service.source.path}:${service.source.line} (ExecStart)`, args: dockerdArgsOf(argv) });
  }
  for (const [name, value] of Object.entries(service.environment)) {
    if (used.has(name)) sources.push({ where: `docker.service Environment= (${name})`, args: wordsOf(value, 'shell') });
  }
  const serviceFiles = new Set(service.environmentFiles.map((f) => f.path));
  for (const file of a.host.environmentFiles) {
    if (file.text === undefined || file.path.endsWith('/docker-storage-setup')) continue;
    // Without a unit (sysvinit), the init script sources these files itself.
    if (service.execStart && !serviceFiles.has(file.path)) continue;
    for (const assignment of parseEnvironmentFile(file.text)) {
      if (service.execStart && !used.has(assignment.name)) continue;
      sources.push({ where: `${file.path}:${assignment.line} (${assignment.name})`, args: wordsOf(assignment.value, 'shell') });
    }
  }
  if (a.host.dockerd) {
    sources.push({ where: `the running dockerd's command line (/proc/${a.host.dockerd.pid}/cmdline)`, args: dockerdArgsOf(a.host.dockerd.argv) });
  }
  return sources;
}

/** Long flags (with their value, `--x=v` or `--x v`) and the one-letter ones this module looks for. */
export function settingsOfArgs(args: readonly string[]): Setting[] {
  const settings: Setting[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq !== -1) settings.push({ name: arg.slice(2, eq), value: arg.slice(eq + 1) });
      else {
        const next = args[i + 1];
        settings.push({ name: arg.slice(2), value: next !== undefined && !next.startsWith('-') ? next : undefined });
      }
      continue;
    }
    const short = /^-([gsH])(?:=?(.+))?$/.exec(arg);
    if (short) {
      const name = { g: 'graph', s: 'storage-driver', H: 'host' }[short[1] as 'g' | 's' | 'H'];
      settings.push({ name, value: short[2] ?? args[i + 1] });
    }
  }
  return settings;
}

/** daemon.json's settings in the same shape: scalars and each element of a list. */
function settingsOfDaemonJson(config: Record<string, unknown>): Setting[] {
  const settings: Setting[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (Array.isArray(value)) for (const v of value) settings.push({ name, value: String(v) });
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        // log-opts {k: v} reads like --log-opt k=v; runtimes {name: {path}} like --add-runtime name=path.
        if (name === 'runtimes') settings.push({ name: 'add-runtime', value: `${k}=${String((v as { path?: unknown } | null)?.path ?? '')}` });
        else settings.push({ name: name === 'log-opts' ? 'log-opt' : name, value: `${k}=${String(v)}` });
      }
    } else settings.push({ name, value: String(value) });
  }
  return settings;
}

/** Whether a setting sets what a removal row removed. */
function matchesRemoval(row: EngineRemoval, s: Setting, fromJson: boolean): boolean {
  if (row.daemonJsonKeys?.includes(s.name) && fromJson) return true;
  if (!fromJson && row.flags?.some((f) => f === `--${s.name}` || (f === '-g' && s.name === 'graph'))) return true;
  const value = s.value ?? '';
  if (row.storageDriver && s.name === 'storage-driver' && value === row.storageDriver) return true;
  if (row.storageOpt && ['storage-opt', 'storage-opts'].includes(s.name)) {
    return row.storageOpt.endsWith('.') ? value.startsWith(row.storageOpt) : value.split('=')[0] === row.storageOpt;
  }
  if (row.logDriver && s.name === 'log-driver' && value === row.logDriver) return true;
  if (row.logOpt && ['log-opt', 'log-opts'].includes(s.name) && value.split('=')[0] === row.logOpt) return true;
  return false;
}

interface Found {
  row: EngineRemoval;
  places: string[];
  settings: string[];
}

/** Each removal row the host's configuration sets, with the places that set it. */
export function findRemovals(a: Analysis, rows: readonly EngineRemoval[]): Found[] {
  const found = new Map<string, Found>();
  const note = (row: EngineRemoval, where: string, text: string) => {
    const f = found.get(row.id) ?? { row, places: [], settings: [] };
    if (!f.places.includes(where)) f.places.push(where);
    if (!f.settings.includes(text)) f.settings.push(text);
    found.set(row.id, f);
  };
  const parse = a.daemonJson.parse;
  if (parse?.ok) {
    for (const s of settingsOfDaemonJson(parse.value)) {
      for (const row of rows) if (matchesRemoval(row, s, true)) note(row, a.daemonJson.path, `"${s.name}": ${s.value ?? ''}`);
    }
  }
  for (const source of optionSources(a)) {
    for (const s of settingsOfArgs(source.args)) {
      for (const row of rows) if (matchesRemoval(row, s, false)) note(row, source.where, s.value === undefined ? `--${s.name}` : `--${s.name} ${s.value}`);
    }
  }
  // In the table's order (oldest removal first), wherever each was found.
  return rows.filter((r) => found.has(r.id)).map((r) => found.get(r.id)!);
}

/** Storage rows are the migration's own business before the cutover: the run rewrites them. */
function storageRow(row: EngineRemoval): boolean {
  return row.storageDriver !== undefined || row.storageOpt !== undefined;
}

function targetOf(a: Analysis): { text: string; version: [number, number] } {
  const version = engineVersion(a.options.targetEngine) ?? [0, 0];
  return { text: a.options.targetEngine, version };
}

export const engineRemovalsCheck: Check = {
  name: 'settings the target engine removed',
  keys: ['engine-target', ...ENGINE_REMOVALS.map((r) => `engine-removed-${r.id}`)],
  run(a: Analysis) {
    const target = targetOf(a);
    const checkStorage = a.options.afterCutover || a.alreadyOnTarget;
    const rows = removalsUpTo(target.version).filter((r) => checkStorage || !storageRow(r));
    const entries = [
      entry(
        'engine-target',
        'info',
        `Target engine: Docker ${target.text}`,
        `The host's configuration is checked against what Docker Engine removed up to ${target.text} (docker/cli docs/deprecated.md).`,
        undefined,
        { targetEngine: target.text, rowsChecked: rows.map((r) => r.id) },
      ),
    ];
    for (const f of findRemovals(a, rows)) {
      const refuses = f.row.effect === 'refuses-to-start';
      const when = f.row.confirmed ? `removed in ${f.row.removedIn}` : `to be removed in ${f.row.removedIn}`;
      entries.push(
        entry(
          `engine-removed-${f.row.id}`,
          refuses && f.row.confirmed ? 'blocker' : 'warning',
          `Docker ${target.text} ${refuses ? 'refuses' : 'ignores'} ${f.row.feature}`,
          `${listText(f.settings)} (${listText(f.places)}): ${f.row.feature}, ${when}. ${refuses ? `Docker ${target.text} does not start with it.` : `Docker ${target.text} starts without what it did.`}`,
          f.row.fix,
          { removedIn: f.row.removedIn, confirmed: f.row.confirmed, places: f.places, settings: f.settings, source: `${DEPRECATED_MD}#${f.row.source}` },
        ),
      );
    }
    return entries;
  },
};

/** RHEL's own binary behind the name: /usr/libexec/docker/docker-runc-current (docker-latest: docker-runc-latest). */
const RHEL_RUNTIME_PATH = /\/usr\/libexec\/docker\/|docker-runc-(current|latest)/;

interface RuntimeSetup {
  /** Settings that need RHEL's package: its binary, or the name as default with nothing else defining it. */
  rhel: { where: string; text: string }[];
  /** The name defined on another binary (the fix: `"runtimes": {"docker-runc": {"path": "runc"}}`). */
  ownDefinition: boolean;
}

function runtimeSetup(a: Analysis): RuntimeSetup {
  const defs: { where: string; text: string; rhel: boolean }[] = [];
  const defaults: { where: string; text: string }[] = [];
  const consider = (s: Setting, where: string, fromJson: boolean) => {
    const value = s.value ?? '';
    const text = fromJson ? `"${s.name === 'add-runtime' ? 'runtimes' : s.name}": ${value}` : `--${s.name} ${value}`.trim();
    if (s.name === 'default-runtime' && value === RHEL_RUNTIME) defaults.push({ where, text });
    if (s.name === 'add-runtime' && value.split('=')[0] === RHEL_RUNTIME) {
      defs.push({ where, text, rhel: RHEL_RUNTIME_PATH.test(value.slice(RHEL_RUNTIME.length + 1)) });
    }
  };
  const parse = a.daemonJson.parse;
  if (parse?.ok) for (const s of settingsOfDaemonJson(parse.value)) consider(s, a.daemonJson.path, true);
  for (const source of optionSources(a)) for (const s of settingsOfArgs(source.args)) consider(s, source.where, false);
  const ownDefinition = defs.some((d) => !d.rhel);
  const rhel = defs.filter((d) => d.rhel).map(({ where, text }) => ({ where, text }));
  if (!ownDefinition) rhel.push(...defaults);
  return { rhel, ownDefinition };
}

export const rhelRuntimeCheck: Check = {
  name: "RHEL's docker-runc runtime",
  keys: ['engine-runtime-docker-runc-flags', 'engine-runtime-docker-runc-containers'],
  run(a: Analysis) {
    const entries = [];
    const setup = runtimeSetup(a);
    const places = [...new Set(setup.rhel.map((r) => r.where))];
    const settings = [...new Set(setup.rhel.map((r) => r.text))];
    if (places.length > 0) {
      entries.push(
        entry(
          'engine-runtime-docker-runc-flags',
          'warning',
          "dockerd is set up with RHEL's docker-runc runtime",
          `${listText(settings)} (${listText(places)}). The name and its binary (/usr/libexec/docker/docker-runc-current) come with RHEL's docker package; Docker ${a.options.targetEngine}'s packages call their runtime "runc". Left in a file the package swap keeps (/etc), these settings name a binary or a runtime the new engine does not have.`,
          'When you install the new engine, drop --add-runtime docker-runc=… and --default-runtime=docker-runc from every file under /etc that sets them (the unit in /usr/lib goes away with the old package).',
          { places, settings },
        ),
      );
    }
    const containers = a.inventory.containers.filter((c) => c.runtime === RHEL_RUNTIME).map((c) => c.name);
    // With the name defined on another binary (the fix below), these containers start anywhere.
    if (containers.length > 0 && !setup.ownDefinition) {
      entries.push(
        entry(
          'engine-runtime-docker-runc-containers',
          'warning',
          `${containers.length} container(s) run with the docker-runc runtime`,
          `${listText(containers)} ${containers.length === 1 ? 'was' : 'were'} created with runtime "${RHEL_RUNTIME}" (HostConfig.Runtime), RHEL's name. The run recreates ${containers.length === 1 ? 'it' : 'them'} as ${containers.length === 1 ? 'it is' : 'they are'}; on an engine without that runtime they do not start: "unknown or invalid runtime name: ${RHEL_RUNTIME}".`,
          `On the new engine, keep the name as an alias of its runc: add "runtimes": {"${RHEL_RUNTIME}": {"path": "runc"}} to daemon.json when you install it (not before: RHEL's dockerd defines the name itself), or recreate these containers without --runtime.`,
          { containers },
        ),
      );
    }
    return entries;
  },
};

/** A -H/hosts address that listens beyond this machine without TLS. */
function isRemoteTcp(address: string): boolean {
  const match = /^tcp:\/\/([^:/]*|\[[^\]]*\])(?::\d+)?\/?$/.exec(address);
  if (!match) return false;
  return !['localhost', '127.0.0.1', '[::1]'].includes(match[1]!);
}

export const tcpWithoutTlsCheck: Check = {
  name: 'API on TCP without TLS',
  keys: ['engine-tcp-without-tls'],
  run(a: Analysis) {
    const target = targetOf(a);
    if (!engineAtLeast(target.version, [26, 0])) return [];
    const hosts: string[] = [];
    const tls: Record<string, string> = {};
    const parse = a.daemonJson.parse;
    const all: Setting[] = [];
    if (parse?.ok) all.push(...settingsOfDaemonJson(parse.value));
    for (const source of optionSources(a)) all.push(...settingsOfArgs(source.args));
    for (const s of all) {
      if ((s.name === 'host' || s.name === 'hosts') && s.value && isRemoteTcp(s.value) && !hosts.includes(s.value)) hosts.push(s.value);
      if (s.name === 'tls' || s.name === 'tlsverify') tls[s.name] = s.value === undefined || s.value.startsWith('-') ? 'true' : s.value;
    }
    if (hosts.length === 0 || tls.tlsverify === 'true' || tls.tls === 'true') return [];
    const explicitOff = tls.tls === 'false' || tls.tlsverify === 'false';
    const refuses = explicitOff && engineAtLeast(target.version, [27, 0]);
    return [
      entry(
        'engine-tcp-without-tls',
        refuses ? 'blocker' : 'warning',
        `The API listens on TCP without TLS (${listText(hosts)})`,
        refuses
          ? `Docker 27.0 and later do not start when told to listen on a non-local TCP address with --tls=false or --tlsverify=false.`
          : `Docker 26.0 deprecated unauthenticated TCP listeners; newer engines require TLS verification for every TCP address except localhost.`,
        'Serve the API with TLS (tlsverify, tlscacert, tlscert, tlskey), or listen on the Unix socket only and reach it over SSH.',
        { hosts, tls, source: `${DEPRECATED_MD}#unauthenticated-tcp-connections` },
      ),
    ];
  },
};

/** Docker built packages for RHEL/CentOS 7 up to 26.1; 27.0 came without them (docker-ce-packaging#1028). */
const LAST_EL7_ENGINE: [number, number] = [26, 1];

export const distributionCheck: Check = {
  name: 'engine packages for this distribution',
  keys: ['engine-no-packages-el7'],
  run(a: Analysis) {
    const target = targetOf(a);
    const kernel = a.kernelRelease ? parseKernelRelease(a.kernelRelease) : undefined;
    const el7 = kernel?.el === 7 || /\b(Red Hat Enterprise Linux|CentOS)\b.*\b7\.\d/.test(a.daemon.operatingSystem);
    if (!el7 || !engineAtLeast(target.version, [LAST_EL7_ENGINE[0], LAST_EL7_ENGINE[1] + 1])) return [];
    return [
      entry(
        'engine-no-packages-el7',
        'warning',
        `No Docker ${target.text} packages for RHEL/CentOS 7`,
        `This host runs RHEL/CentOS 7 (kernel ${a.kernelRelease ?? 'unknown'}; ${a.daemon.operatingSystem || 'OS unknown'}). Docker published its last packages for it with 26.1 (CentOS 7 ended in June 2024); 26.1 runs overlay2 on its 3.10 kernel.`,
        'Plan for 26.1 on this host (`preflight --target-engine 26.1`), or move it to RHEL 8 or later before the upgrade.',
        { lastEngine: `${LAST_EL7_ENGINE[0]}.${LAST_EL7_ENGINE[1]}` },
      ),
    ];
  },
};

export const ENGINE_READINESS_CHECKS: readonly Check[] = [engineRemovalsCheck, rhelRuntimeCheck, tcpWithoutTlsCheck, distributionCheck];
