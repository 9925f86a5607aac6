// A stand-in for an older Docker engine in front of a rig dockerd (Debian's 20.10, API 1.41, or
// Engine 26, API 1.45, for the versions above 1.41):
// a unix-socket HTTP proxy that says it speaks an older API (the API-Version header of every
// answer, /version's ApiVersion, MinAPIVersion and Version) and forwards every request to the
// real daemon under that version's path (`/v1.26/...`), so the daemon applies its own
// compatibility rules for that version. What the old engines did differently and a client must
// cope with is played here from their source (moby v1.13.1, v17.06.0-ce, v18.09.0):
// - a request under a version above theirs: 400 "client version X is too new. Maximum
//   supported API version is Y" (17.12 and later; 1.13 to 17.11 accepted it silently: the proxy
//   is stricter on purpose, so that a client which skips negotiation fails here);
// - a stop of a paused container up to 17.06 (API ≤ 1.30): daemon/kill.go killWithSignal
//   refuses the signal and ContainerStop answers 500 "Cannot stop container NAME: Container ID
//   is paused. Unpause the container before stopping" (17.06: "... stopping or killing").
// Streams pass through: chunked bodies both ways (load, save, push, events) and hijacked
// connections (attach, exec start with `Upgrade: tcp`).
//
// The proxy takes over the daemon's own socket path (dockerd's is renamed to docker.real.sock),
// so that the tool, given that path, finds the dockerd whose -H names it, as on a real host.
// dockerd unlinks and binds its path again at each start, and unlinks it when it stops: the proxy
// watches the path and takes it over again once a new dockerd has bound it, or once no dockerd
// runs. `takenOverBy` names the dockerd pid it last took over from (a start command waits for it).
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonInfo } from './dockerd.js';

interface OldEngine {
  version: string;
  minApiVersion: string;
  /** How its daemon/kill.go words a signal to a paused container; undefined from 17.07 on (it unpauses). */
  pausedStop?: string;
}

/** The engines the proxy can stand in for, by API version. */
export const PINNED_ENGINES: Record<string, OldEngine> = {
  '1.26': { version: '1.13.1', minApiVersion: '1.12', pausedStop: 'Unpause the container before stopping' },
  '1.30': { version: '17.06.0-ce', minApiVersion: '1.12', pausedStop: 'Unpause the container before stopping or killing' },
  '1.39': { version: '18.09.0', minApiVersion: '1.12' },
  // In front of Engine 26 (API 1.45): docker-ce 23 and 24, which no Debian package has.
  '1.42': { version: '23.0.6', minApiVersion: '1.12' },
  '1.43': { version: '24.0.9', minApiVersion: '1.12' },
};

export interface ProxiedRequest {
  method: string;
  /** "/v1.26/containers/json?all=1" */
  url: string;
  userAgent: string;
}

export interface ApiPinProxy {
  apiVersion: string;
  /** The daemon's own socket path, where the proxy now listens. */
  socketPath: string;
  /** unix:///…: the address to give the tool or the docker CLI (the daemon's own). */
  dockerHost: string;
  /** unix:///…/docker.real.sock: the daemon itself, at its own API version. */
  realDockerHost: string;
  /** A file holding the pid of the dockerd the proxy last took the socket over from. */
  takenOverBy: string;
  /** A shell command that waits (up to 30 s) until the proxy stands in front of the dockerd now running. */
  waitCommand: string;
  /** Every request, in order (hijacked ones too). */
  readonly requests: readonly ProxiedRequest[];
  stop(): Promise<void>;
}

const compare = (a: string, b: string): number => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  return (x[0]! - y[0]!) || (x[1]! - y[1]!);
};

/** "/v1.26/containers/json?all=1" → { version: "1.26", rest: "/containers/json?all=1" }. */
function splitVersion(url: string): { version?: string; rest: string } {
  const match = /^\/v(\d+\.\d+)(\/.*)$/.exec(url);
  return match ? { version: match[1], rest: match[2]! } : { rest: url };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** One request to the real daemon, its answer whole. */
function daemonGet(socketPath: string, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: 'GET', agent: false, headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts a proxy pinned at `apiVersion` (a key of PINNED_ENGINES) in front of `daemon`; its socket
 * lives in the daemon's directory, so it goes with the daemon too.
 */
export async function startApiPinProxy(daemon: Pick<DaemonInfo, 'dir' | 'socketPath' | 'pidFile'>, apiVersion: string): Promise<ApiPinProxy> {
  const engine = PINNED_ENGINES[apiVersion];
  if (!engine) throw new Error(`No old engine known for API ${apiVersion}: one of ${Object.keys(PINNED_ENGINES).join(', ')}`);
  const socketPath = daemon.socketPath;
  const realSocket = join(daemon.dir, 'docker.real.sock');
  const takenOverBy = join(daemon.dir, 'api-pin-proxy.pid');
  const requests: ProxiedRequest[] = [];
  const record = (req: IncomingMessage): void => {
    requests.push({ method: req.method ?? '', url: req.url ?? '/', userAgent: req.headers['user-agent'] ?? '' });
  };
  const ownHeaders = { 'Api-Version': apiVersion, Server: `Docker/${engine.version} (linux)`, Ostype: 'linux' };

  /** The old engine's refusal of a version outside its range, or undefined when it takes it. */
  const versionRefusal = (version: string | undefined): string | undefined => {
    if (version && compare(version, apiVersion) > 0) return `client version ${version} is too new. Maximum supported API version is ${apiVersion}`;
    if (version && compare(version, engine.minApiVersion) < 0) {
      return `client version ${version} is too old. Minimum supported API version is ${engine.minApiVersion}, please upgrade your client to a newer version`;
    }
    return undefined;
  };

  /** A stop the old engine refuses: of a paused container, up to 17.06. */
  const pausedStopRefusal = async (method: string, rest: string): Promise<string | undefined> => {
    const target = /^\/containers\/([^/?]+)\/stop(?:\?|$)/.exec(rest)?.[1];
    if (method !== 'POST' || !target || !engine.pausedStop) return undefined;
    const inspect = await daemonGet(realSocket, `/v${apiVersion}/containers/${target}/json`);
    if (inspect.status !== 200) return undefined;
    const container = JSON.parse(inspect.body) as { Id: string; State?: { Paused?: boolean } };
    if (!container.State?.Paused) return undefined;
    return `Cannot stop container ${decodeURIComponent(target)}: Container ${container.Id} is paused. ${engine.pausedStop}`;
  };

  /** /_ping and /version: asked of the daemon (so a stopped daemon still looks stopped), answered as the old engine. */
  const answerAsOldEngine = async (rest: string, res: ServerResponse): Promise<boolean> => {
    const path = rest.split('?')[0];
    if (path === '/_ping') {
      const ping = await daemonGet(realSocket, '/_ping');
      res.writeHead(ping.status, { ...ownHeaders, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(ping.body);
      return true;
    }
    if (path === '/version') {
      const real = JSON.parse((await daemonGet(realSocket, '/version')).body) as Record<string, unknown>;
      // Components and Platform came with API 1.35.
      const { Components: _components, Platform: _platform, ...rest } = real;
      const old = compare(apiVersion, '1.35') < 0 ? rest : real;
      sendJson(res, 200, { ...old, Version: engine.version, ApiVersion: apiVersion, MinAPIVersion: engine.minApiVersion }, ownHeaders);
      return true;
    }
    return false;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const headers = { ...req.headers };
    const upstream = httpRequest({ socketPath: realSocket, path, method: req.method, headers, agent: false }, (answer) => {
      const { 'api-version': _v, server: _s, ...kept } = answer.headers;
      res.writeHead(answer.statusCode ?? 502, { ...kept, ...ownHeaders });
      res.flushHeaders(); // an events stream sends nothing until something happens
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.socket?.destroy()); // a stopped daemon: the client sees the connection drop
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    record(req);
    const { version, rest } = splitVersion(url);
    void (async () => {
      const refused = versionRefusal(version);
      if (refused) return sendJson(res, 400, { message: refused }, ownHeaders);
      if (await answerAsOldEngine(rest, res)) return;
      const stopRefused = await pausedStopRefusal(req.method ?? 'GET', rest);
      if (stopRefused) return sendJson(res, 500, { message: stopRefused }, ownHeaders);
      forward(req, res, `/v${version ?? apiVersion}${rest}`);
    })().catch(() => res.socket?.destroy());
  };

  // Hijacked connections (attach, exec start): the request is passed on with its path
  // rewritten, then bytes flow both ways untouched.
  const upgrade = (req: IncomingMessage, client: Socket, head: Buffer): void => {
    const url = req.url ?? '/';
    record(req);
    const { version, rest } = splitVersion(url);
    const refused = versionRefusal(version);
    if (refused) {
      const body = `${JSON.stringify({ message: refused })}\n`;
      client.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    const upstream = connect({ path: realSocket });
    const lines = [`${req.method} /v${version ?? apiVersion}${rest} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  };

  const servers: Server[] = [];
  let ours: number | undefined;
  const listen = async (): Promise<void> => {
    const server = createServer(handle);
    server.on('upgrade', upgrade);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    servers.push(server);
    ours = statSync(socketPath).ino;
  };
  const dockerdPid = (): number | undefined => {
    const pid = Number(existsSync(daemon.pidFile) ? readFileSync(daemon.pidFile, 'utf8').trim() : '');
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  };
  /** Takes the path over again when a dockerd bound it anew, or when it is gone and no dockerd is starting or stopping. */
  const watch = async (): Promise<void> => {
    const now = existsSync(socketPath) ? statSync(socketPath).ino : undefined;
    if (now !== undefined && now === ours) return;
    const pid = dockerdPid();
    if (now === undefined && pid !== undefined) return; // dockerd is about to bind it, or stopping
    // Renamed before the old server closes: closing a unix-socket server unlinks its path.
    if (now !== undefined) renameSync(socketPath, realSocket);
    for (const old of servers.splice(0)) old.close();
    await listen();
    if (now !== undefined && pid !== undefined) writeFileSync(takenOverBy, `${pid}\n`);
  };
  let watching = Promise.resolve();
  await watch();
  const timer = setInterval(() => {
    watching = watching.then(watch).catch(() => undefined);
  }, 50);
  return {
    apiVersion,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    realDockerHost: `unix://${realSocket}`,
    takenOverBy,
    waitCommand: `for _ in $(seq 1 300); do [ "$(cat ${takenOverBy} 2>/dev/null)" = "$(cat ${daemon.pidFile} 2>/dev/null)" ] && exit 0; sleep 0.1; done; exit 1`,
    requests,
    stop: async () => {
      clearInterval(timer);
      await watching;
      for (const server of servers.splice(0)) {
        server.close();
        server.closeAllConnections?.();
      }
      // The daemon gets its own path back (the rig's teardown talks to it there).
      if (existsSync(realSocket) && dockerdPid() !== undefined) renameSync(realSocket, socketPath);
    },
  };
}
