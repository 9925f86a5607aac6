/**
 * Registry credentials for pushes and pulls, found where an operator keeps them: the answers'
 * `passwordEnv` or `passwordFile`, else Docker's own `~/.docker/config.json` (`auths`,
 * `credHelpers`, `credsStore`, with `docker-credential-<name> get` for helpers). Everything
 * goes through the Host, so a fixture host can stand in. No message made here ever contains
 * a password or token: only the names of the places they come from.
 */
import { UsageError, OperatorError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { ResolvedRegistry } from './answers-types.js';
import { checkTrustedInput } from './input-trust.js';

/** Credentials for one registry, as the Engine API's X-Registry-Auth header carries them. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** An OAuth refresh token (what a credential helper returns with username "<token>"). */
  identitytoken?: string;
  /** The registry host ("registry.example.com:5000"). */
  serveraddress: string;
}

export interface ResolveAuthOptions {
  /** A password the wizard asked for (masked); wins over every other source. */
  password?: string;
  /** Told about things worth fixing that do not stop the run (a password file others can read). */
  onWarning?(message: string): void;
  /** Where Docker's config.json lives; default $DOCKER_CONFIG, else $HOME/.docker, else /root/.docker. */
  dockerConfigDir?: string;
  /** Limit for a credential helper; default 30 s. */
  helperTimeoutMs?: number;
}

type RegistryAnswers = Pick<ResolvedRegistry, 'address' | 'username' | 'passwordEnv' | 'passwordFile'>;

/** Docker Hub's key in config.json, and the names that mean Docker Hub. */
const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The credentials for `registry`, or undefined when none are configured anywhere (an
 * anonymous push, which the registry may refuse). Throws UsageError when the answers name a
 * password source that is not there.
 */
export async function resolveRegistryAuth(
  host: Host,
  registry: RegistryAnswers,
  env: Readonly<Record<string, string | undefined>>,
  options: ResolveAuthOptions = {},
): Promise<RegistryAuth | undefined> {
  const serveraddress = registryHost(registry.address);
  const password = options.password || (await passwordFromAnswers(host, registry, env));
  if (password !== undefined) {
    if (!registry.username) {
      throw new UsageError(
        `A registry password is configured but registry.username is not.`,
        `Add registry.username (the user the password belongs to) to the answers file.`,
      );
    }
    return { username: registry.username, password, serveraddress };
  }
  const fromConfig = await authFromDockerConfig(host, serveraddress, env, options);
  if (fromConfig && registry.username && fromConfig.username && fromConfig.username !== registry.username && fromConfig.username !== '<token>') {
    options.onWarning?.(
      `registry.username is ${registry.username}, but Docker's config.json holds credentials of ${fromConfig.username} for ${serveraddress}; using those.`,
    );
  }
  return fromConfig;
}

/** The password from `passwordEnv` (when set and not empty) or else `passwordFile`; undefined when the answers name neither. */
async function passwordFromAnswers(
  host: Host,
  registry: RegistryAnswers,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  if (registry.passwordEnv) {
    const value = env[registry.passwordEnv];
    if (value) return value;
    if (!registry.passwordFile) {
      throw new UsageError(
        `registry.passwordEnv names the environment variable ${registry.passwordEnv}, but it is not set (or empty).`,
        `Export ${registry.passwordEnv} with the registry password before running (for sudo, keep it with \`sudo --preserve-env=${registry.passwordEnv}\`), or use registry.passwordFile.`,
      );
    }
  }
  if (!registry.passwordFile) return undefined;
  const file = registry.passwordFile;
  await checkTrustedInput(host, { what: 'registry.passwordFile', path: file, secret: true });
  const info = await host.stat(file);
  if (!info || info.kind !== 'file') {
    throw new UsageError(
      `registry.passwordFile names ${file}, which ${info ? 'is not a regular file' : 'does not exist'}.`,
      `Write the registry password into ${file} (chmod 600), or fix registry.passwordFile.`,
    );
  }
  const text = await host.readFile(file);
  const value = text?.replace(/(\r?\n)+$/, '');
  if (!value) {
    throw new UsageError(`The registry password file ${file} is empty.`, `Write the registry password into ${file}.`);
  }
  return value;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string } | undefined>;
  credHelpers?: Record<string, string | undefined>;
  credsStore?: string;
}

/** Credentials as the docker CLI would find them: credHelpers[server], else credsStore, else auths. */
async function authFromDockerConfig(
  host: Host,
  serveraddress: string,
  env: Readonly<Record<string, string | undefined>>,
  options: ResolveAuthOptions,
): Promise<RegistryAuth | undefined> {
  const dir = options.dockerConfigDir ?? env.DOCKER_CONFIG ?? `${env.HOME || '/root'}/.docker`;
  const file = `${dir.replace(/\/+$/, '')}/config.json`;
  const text = await host.readFile(file);
  if (text === undefined || text.trim() === '') return undefined;
  let config: DockerConfigFile;
  try {
    config = JSON.parse(text) as DockerConfigFile;
  } catch {
    throw new OperatorError(`Docker's ${file} is not valid JSON, so its registry credentials cannot be read.`, `Fix ${file} (\`docker login ${serveraddress}\` rewrites it), or set registry.passwordEnv or registry.passwordFile.`);
  }
  const helperKey = Object.keys(config.credHelpers ?? {}).find((key) => sameRegistry(key, serveraddress));
  const helper = (helperKey !== undefined ? config.credHelpers?.[helperKey] : undefined) || config.credsStore;
  if (helper) {
    const fromHelper = await authFromHelper(host, helper, serveraddress, options.helperTimeoutMs ?? 30_000);
    if (fromHelper) return fromHelper;
  }
  return authFromAuths(config, serveraddress, file);
}

function authFromAuths(config: DockerConfigFile, serveraddress: string, file: string): RegistryAuth | undefined {
  const key = Object.keys(config.auths ?? {}).find((k) => sameRegistry(k, serveraddress));
  const entry = key !== undefined ? config.auths?.[key] : undefined;
  if (!entry) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new OperatorError(`The "auth" entry for ${serveraddress} in ${file} is not base64 of user:password.`, `Run \`docker login ${serveraddress}\` again, or set registry.passwordEnv or registry.passwordFile.`);
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress };
  }
  if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress, ...(entry.username ? { username: entry.username } : {}) };
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, serveraddress };
  return undefined;
}

/** Asks `docker-credential-<helper> get` (server on stdin); undefined when it has nothing for this server. */
async function authFromHelper(host: Host, helper: string, serveraddress: string, timeoutMs: number): Promise<RegistryAuth | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new OperatorError(`Docker's config.json names a credential helper "${helper}", which is not a valid helper name.`, 'Fix credsStore or credHelpers in ~/.docker/config.json.');
  }
  const command = `docker-credential-${helper}`;
  if ((await host.which(command)) === undefined) {
    throw new OperatorError(
      `Docker's config.json keeps the credentials for ${serveraddress} in the helper ${command}, which is not installed here.`,
      `Install ${command}, or set registry.passwordEnv or registry.passwordFile in the answers file.`,
    );
  }
  // Keys as the CLI stores them: the bare host for most registries, the v1 URL for Docker Hub.
  const candidates = HUB_NAMES.has(serveraddress) ? [HUB_KEY, serveraddress] : [serveraddress, `https://${serveraddress}`];
  for (const key of candidates) {
    const result = await host.run(command, ['get'], { input: key, timeoutMs });
    const said = `${result.stdout}\n${result.stderr}`;
    if (result.exitCode !== 0) {
      if (/credentials not found/i.test(said)) continue;
      // Only stderr's first line: stdout could hold a half-written secret.
      const reason = result.stderr.trim().split('\n')[0] || `exit code ${result.exitCode}`;
      throw new OperatorError(
        `The credential helper ${command} failed for ${serveraddress}: ${reason}`,
        `Check that \`echo ${serveraddress} | ${command} get\` works for this user (a desktop keyring may need a session), or set registry.passwordEnv or registry.passwordFile.`,
      );
    }
    let answer: { Username?: unknown; Secret?: unknown };
    try {
      answer = JSON.parse(result.stdout) as { Username?: unknown; Secret?: unknown };
    } catch {
      throw new OperatorError(`The credential helper ${command} gave an answer that is not JSON.`, `Check \`${command} get\` by hand, or set registry.passwordEnv or registry.passwordFile.`);
    }
    const username = typeof answer.Username === 'string' ? answer.Username : '';
    const secret = typeof answer.Secret === 'string' ? answer.Secret : '';
    if (!secret) continue;
    if (username === '<token>') return { identitytoken: secret, serveraddress };
    return { username, password: secret, serveraddress };
  }
  return undefined;
}

/** The registry host of an address: scheme and path dropped, Docker Hub's names made one. */
export function registryHost(address: string): string {
  const host = address.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return HUB_NAMES.has(host.toLowerCase()) ? 'docker.io' : host;
}

/** Whether a config.json key ("https://reg:5000/v1/", "reg:5000") names the same registry. */
export function sameRegistry(key: string, serveraddress: string): boolean {
  return registryHost(key).toLowerCase() === registryHost(serveraddress).toLowerCase();
}
