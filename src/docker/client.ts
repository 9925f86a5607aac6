/**
 * The connection to the Docker daemon. Everything else in src/docker takes the dockerode
 * instance from `client.api`; this module owns turning an address into one, checking that
 * the daemon answers, and saying plainly when it does not.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import { ExitCode, OperatorError, UsageError } from '../errors.js';
import { CLIENT_API_VERSION, compareApiVersions, OLDEST_API_VERSION } from './api-version.js';

export interface DockerClient {
  /** The address as the operator gave it (for messages). */
  readonly address: string;
  /** What the address points at, e.g. "the socket /var/run/docker.sock" or "tcp://10.0.0.5:2375". */
  readonly target: string;
  /**
   * The dockerode instance. It has no global timeout, because saves, loads and commits may
   * run for an hour; calls that should not run through `withinBound` (or `callDocker`).
   */
  readonly api: Docker;
  /**
   * The API version negotiated with the daemon ("1.26"): every request goes to `/v<it>/...`,
   * so the daemon answers as that version does, whatever engine it is.
   */
  readonly apiVersion: string;
}

/** What the daemon says of its API: the `API-Version` header of /_ping, and /version's ApiVersion and MinAPIVersion. */
export interface DaemonApiVersions {
  pingHeader?: string;
  apiVersion?: string;
  minApiVersion?: string;
  /** The engine's own version ("1.13.1"), for messages. */
  engineVersion?: string;
}

/**
 * The version to talk: the lower of the daemon's and ours (CLIENT_API_VERSION). A daemon older
 * than OLDEST_API_VERSION, or one that no longer accepts ours, is an OperatorError.
 */
export function chooseApiVersion(daemon: DaemonApiVersions, where: string): string {
  const offered = [daemon.pingHeader, daemon.apiVersion].filter((v): v is string => !!v && /^\d+\.\d+$/.test(v));
  if (offered.length === 0) {
    throw new OperatorError(
      `The Docker daemon at ${where} does not say which API version it speaks (no API-Version header on /_ping, no ApiVersion in /version).`,
      REMEDY,
      ExitCode.needsOperator,
    );
  }
  const daemonVersion = offered.reduce((low, v) => (compareApiVersions(v, low) < 0 ? v : low));
  const engine = daemon.engineVersion ? `Docker ${daemon.engineVersion}, ` : '';
  if (compareApiVersions(daemonVersion, OLDEST_API_VERSION) < 0) {
    throw new OperatorError(
      `The Docker daemon at ${where} (${engine}API ${daemonVersion}) is older than devmapper-migrate supports (API ${OLDEST_API_VERSION}, Docker 1.13.1).`,
      'Update Docker to 1.13.1 or newer (on RHEL/CentOS 7: yum update docker), keeping the devicemapper driver, then run devmapper-migrate again.',
      ExitCode.needsOperator,
    );
  }
  const chosen = compareApiVersions(daemonVersion, CLIENT_API_VERSION) < 0 ? daemonVersion : CLIENT_API_VERSION;
  if (daemon.minApiVersion && compareApiVersions(chosen, daemon.minApiVersion) < 0) {
    throw new OperatorError(
      `The Docker daemon at ${where} (${engine}API ${daemonVersion}) accepts API ${daemon.minApiVersion} or newer; this devmapper-migrate speaks up to ${CLIENT_API_VERSION}.`,
      'Use a newer devmapper-migrate, or run this one against the engine the host had before the upgrade.',
      ExitCode.needsOperator,
    );
  }
  return chosen;
}

export interface ConnectOptions {
  /** How long /_ping may take before the daemon counts as not answering (default 15 s). */
  timeoutMs?: number;
}

/** Timeouts for requests that read state: generous, because a busy host answers slowly. */
export const READ_TIMEOUT_MS = 120_000;
const PING_TIMEOUT_MS = 15_000;

const REMEDY = 'Start Docker, or pass --docker-host (or set DOCKER_HOST) to the address its daemon listens on.';
const PERMISSION_REMEDY = 'Run devmapper-migrate as root (it stops and starts Docker and rewrites its configuration).';

interface ParsedAddress {
  options: Docker.DockerOptions & { pathPrefix?: string; agent?: http.Agent };
  target: string;
}

/** The connections opened by the bounded call that is running (see `withinBound`). */
const boundedCallSockets = new AsyncLocalStorage<Set<Duplex>>();

/** http.Agent's createConnection: documented since Node 0.11, missing from Node 16's types. */
type CreateConnection = (options: http.ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void) => Duplex | null | undefined;

/**
 * The agent of every connection to the Docker daemon: a connection opened while a bounded
 * call runs is recorded for that call, so that its bound can close it. createConnection runs
 * inside http.request, so in the call's async context. No keep-alive: a connection serves one
 * request, and belongs to the call that opened it.
 */
function newDockerAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: false }) as http.Agent & { createConnection: CreateConnection };
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = connect(options, callback);
    if (socket) boundedCallSockets.getStore()?.add(socket);
    return socket;
  };
  // docker-modem formats every request's options for its debug log even when that log is off
  // (util.inspect with showHidden and no depth limit), and the options hold this agent: with
  // two streams open that walked both live sockets, 59 to 90 KB of text and the objects behind
  // it per request, a burst of garbage the run's peak memory was made of. One line instead.
  Object.defineProperty(agent, inspect.custom, { value: () => 'http.Agent (devmapper-migrate, to the Docker daemon)' });
  return agent;
}

const dockerAgent = newDockerAgent();

const BOUND_EXPIRED = 'DMM_BOUND_EXPIRED';

/** The error of a bounded call that ran out of time (unreachableError reads it as a timeout). */
function boundError(ms: number): Error {
  return Object.assign(new Error(`The Docker daemon did not answer within ${ms} ms`), { name: 'TimeoutError', code: BOUND_EXPIRED });
}

/** True for the error `withinBound` rejects with when its bound has passed. */
export function isBoundExpired(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === BOUND_EXPIRED;
}

/**
 * Runs `call` and ends it after `ms`: it rejects with a TimeoutError, its signal aborts, and
 * the connections it opened to the daemon are destroyed. The abort alone is not enough: Node 16
 * (the release tarball's runtime) stops listening to a request's AbortSignal once the request
 * is sent, so a daemon that accepts and never answers would hold the call, its socket and the
 * process for good. The timer is a plain one, because a signal from AbortSignal.timeout can be
 * collected before it fires on Node 16.
 */
export async function withinBound<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const sockets = new Set<Duplex>();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(boundError(ms));
      controller.abort();
      for (const socket of sockets) socket.destroy();
    }, ms);
  });
  const work = boundedCallSockets.run(sockets, async () => call(controller.signal));
  // Once the bound has passed, the call's own failure (socket hang up) is no one's to handle.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Turns unix:///path, /path, tcp://host:port or http://host:port into dockerode options. */
export function parseDockerHost(dockerHost: string): ParsedAddress {
  const address = dockerHost.trim();
  // Explicit undefineds: dockerode fills unset fields from $DOCKER_HOST, which must not win over
  // the address the operator chose.
  const base = { host: undefined, port: undefined, socketPath: undefined, protocol: 'http' as const, agent: dockerAgent };
  if (address.startsWith('/') || address.startsWith('unix://')) {
    const socketPath = address.startsWith('unix://') ? address.slice('unix://'.length) : address;
    if (!socketPath.startsWith('/')) {
      throw new UsageError(`The Docker address "${dockerHost}" has no absolute socket path.`, 'Write it as unix:///var/run/docker.sock.');
    }
    return { options: { ...base, socketPath }, target: `the socket ${socketPath}` };
  }
  const match = /^(tcp|http):\/\/\[?([^\]/:]+)\]?(?::(\d+))?\/?$/.exec(address);
  if (match) {
    const [, , host, port = '2375'] = match;
    return { options: { ...base, host, port, pathPrefix: '/' }, target: `tcp://${host}:${port}` };
  }
  throw new UsageError(
    `The Docker address "${dockerHost}" is not one devmapper-migrate can use.`,
    'Use unix:///var/run/docker.sock (the usual one on the host itself), or tcp://HOST:PORT for a daemon listening without TLS.',
  );
}

const CONNECTION_CODES: Record<string, string> = {
  ENOENT: 'there is no socket there',
  ECONNREFUSED: 'nothing listens there',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTSOCK: 'the path is not a socket',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

/** "unix:///run/docker.sock (the socket /run/docker.sock)", without repeating an address that says it all. */
function where(client: Pick<DockerClient, 'address' | 'target'>): string {
  return client.target === client.address ? client.address : `${client.address} (${client.target})`;
}

function isTimeout(error: { name?: string; code?: string }): boolean {
  return error.name === 'AbortError' || error.name === 'TimeoutError' || error.code === 'ABORT_ERR';
}

/**
 * The OperatorError for a request that never reached the daemon (no socket, refused, timed
 * out), or undefined when the error is something the daemon itself answered.
 */
export function unreachableError(client: Pick<DockerClient, 'address' | 'target'>, error: unknown, timeoutMs?: number): OperatorError | undefined {
  const e = (error ?? {}) as { name?: string; code?: string; message?: string; statusCode?: number };
  if (e.statusCode !== undefined) return undefined;
  let cause: string | undefined;
  if (isTimeout(e)) cause = `it did not answer within ${Math.round((timeoutMs ?? READ_TIMEOUT_MS) / 1000)} s`;
  else if (e.code && CONNECTION_CODES[e.code]) cause = `${CONNECTION_CODES[e.code]} (${e.code})`;
  else if (e.message === 'socket hang up') cause = 'the connection was closed without an answer';
  if (!cause) return undefined;
  // Permission is not a stopped daemon: "Start Docker" would send the operator the wrong way.
  const remedy = e.code === 'EACCES' || e.code === 'EPERM' ? PERMISSION_REMEDY : REMEDY;
  return new OperatorError(`Cannot reach the Docker daemon at ${where(client)}: ${cause}.`, remedy, ExitCode.needsOperator);
}

/**
 * GET a JSON endpoint through dockerode's modem: for calls dockerode does not type or does not
 * pass query parameters to (/_ping with a signal, /system/df?type=volume).
 */
export function apiGet<T>(api: Docker, path: string, query: Record<string, unknown> | undefined, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    api.modem.dial(
      {
        path: query ? `${path}?` : path,
        method: 'GET',
        options: query ? { ...query } : {},
        abortSignal: signal,
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'not found', 500: 'server error' },
      },
      (error, data) => (error ? reject(error) : resolve(data as T)),
    );
  });
}

/** The daemon's own words for an API error (dockerode keeps them in `json.message`). */
export function daemonMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return (e?.json?.message ?? e?.message ?? String(error)).trim();
}

/**
 * Runs one read-only API call, bounded by `timeoutMs` (see `withinBound`): `call` makes its
 * requests through `client.api` with the signal it is given. A daemon that cannot be reached, or that
 * answers with an error, becomes an OperatorError naming the call; `what` reads like
 * "listing containers".
 */
export async function callDocker<T>(
  client: DockerClient,
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number = READ_TIMEOUT_MS,
): Promise<T> {
  try {
    return await withinBound(timeoutMs, call);
  } catch (error) {
    const unreachable = unreachableError(client, error, timeoutMs);
    if (unreachable) throw unreachable;
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined) {
      throw new OperatorError(
        `Docker at ${client.address} failed while ${what}: ${daemonMessage(error)} (HTTP ${status}).`,
        "Look at the Docker daemon's log (journalctl -u docker) and try again.",
      );
    }
    throw error;
  }
}

function newDockerode(dockerHost: string, options: Docker.DockerOptions): Docker {
  try {
    return new Docker(options);
  } catch (error) {
    // dockerode reads $DOCKER_HOST and $DOCKER_CERT_PATH even when given an address.
    throw new UsageError(
      `Cannot set up the Docker client for ${dockerHost}: ${(error as Error).message}`,
      'Check DOCKER_HOST, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY in the environment, or unset them and pass --docker-host.',
    );
  }
}

interface PlainAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An unversioned GET (/_ping, /version) that keeps the answer's headers, which dockerode drops. */
function plainGet(address: ParsedAddress['options'], path: string, signal: AbortSignal): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const where = address.socketPath ? { socketPath: address.socketPath as string } : { host: address.host as string, port: Number(address.port) };
    const request = http.request({ ...where, agent: address.agent, path, method: 'GET', signal, headers: { Host: 'docker' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** The daemon's error for a non-200 answer, shaped like dockerode's (statusCode, json.message). */
function answerError(path: string, answer: PlainAnswer): Error {
  let message = answer.body.trim();
  try {
    message = (JSON.parse(answer.body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the text is the message.
  }
  return Object.assign(new Error(`GET ${path}: ${message}`), { statusCode: answer.status, json: { message } });
}

/** Asks the unversioned /_ping and /version what the daemon speaks. */
async function readDaemonApiVersions(address: ParsedAddress['options'], timeoutMs: number): Promise<DaemonApiVersions> {
  const ping = await withinBound(timeoutMs, (signal) => plainGet(address, '/_ping', signal));
  if (ping.status !== 200) throw answerError('/_ping', ping);
  const header = ping.headers['api-version'];
  const version = await withinBound(timeoutMs, (signal) => plainGet(address, '/version', signal));
  if (version.status !== 200) throw answerError('/version', version);
  const body = JSON.parse(version.body) as { ApiVersion?: string; MinAPIVersion?: string; Version?: string };
  return {
    pingHeader: typeof header === 'string' ? header : undefined,
    apiVersion: body.ApiVersion,
    minApiVersion: body.MinAPIVersion,
    engineVersion: body.Version,
  };
}

/**
 * Connects to the daemon at dockerHost: checks that it answers /_ping, negotiates the API
 * version (chooseApiVersion) and returns a client whose every request goes to that version's
 * paths (`/v1.26/...`).
 */
export async function connectDocker(dockerHost: string, options: ConnectOptions = {}): Promise<DockerClient> {
  const { options: dockerOptions, target } = parseDockerHost(dockerHost);
  const probe = { address: dockerHost, target };
  newDockerode(dockerHost, dockerOptions); // the environment's TLS settings fail here, before any request
  const timeoutMs = options.timeoutMs ?? PING_TIMEOUT_MS;
  let versions: DaemonApiVersions;
  try {
    versions = await readDaemonApiVersions(dockerOptions, timeoutMs);
  } catch (error) {
    throw (
      unreachableError(probe, error, timeoutMs) ??
      new OperatorError(`The Docker daemon at ${where(probe)} does not answer like Docker: ${daemonMessage(error)}.`, REMEDY, ExitCode.needsOperator)
    );
  }
  const apiVersion = chooseApiVersion(versions, where(probe));
  const api = newDockerode(dockerHost, { ...dockerOptions, version: `v${apiVersion}` });
  return { address: dockerHost, target, api, apiVersion };
}
