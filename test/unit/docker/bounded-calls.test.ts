// Every bounded call to the daemon ends at its bound and closes its connection, also on Node 16
// (the release tarball's runtime), where a request stops listening to its AbortSignal once it
// is sent. The fake daemon accepts connections and never answers the calls it hangs, as a hung
// devicemapper daemon does; an open connection left behind would keep the process alive.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { build } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { callDocker, connectDocker, apiGet } from '../../../src/docker/client.js';
import { daemonAnswers } from '../../../src/docker/daemon-status.js';
import { OperatorError } from '../../../src/errors.js';

interface HungDaemon {
  address: string;
  /** Connections the daemon holds open (the client has not closed them). */
  open: Set<Socket>;
  close(): void;
}

/** A daemon that answers /_ping and /version when `answersPing`, and nothing else, ever. */
async function hungDaemon(dir: string, answersPing: boolean): Promise<HungDaemon> {
  const socket = path.join(dir, 'docker.sock');
  const open = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const route = (req.url ?? '/').replace(/^\/v\d+\.\d+/, '');
    if (answersPing && route === '/_ping') return res.end('OK');
    if (answersPing && route === '/version') return res.end(JSON.stringify({ Version: '1.13.1', ApiVersion: '1.26' }));
    // Accepted, never answered.
  });
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    address: `unix://${socket}`,
    open,
    close: () => {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}

let dir: string | undefined;
let daemon: HungDaemon | undefined;
afterEach(async () => {
  daemon?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  daemon = undefined;
  dir = undefined;
});

async function startDaemon(answersPing: boolean): Promise<HungDaemon> {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-hung-docker-'));
  daemon = await hungDaemon(dir, answersPing);
  return daemon;
}

/** How long `promise` takes to settle, and how (never longer than `limitMs`: then "pending"). */
async function settle(promise: Promise<unknown>, limitMs: number): Promise<{ ms: number; error?: unknown; value?: unknown; pending?: true }> {
  const started = Date.now();
  let limit: NodeJS.Timeout | undefined;
  const pending = new Promise<{ pending: true }>((resolve) => {
    limit = setTimeout(() => resolve({ pending: true }), limitMs);
  });
  const outcome = await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), pending]);
  clearTimeout(limit);
  return { ms: Date.now() - started, ...outcome };
}

/** Waits a little for the client's side of the connections to close, then says how many remain. */
async function openAfterwards(hung: HungDaemon): Promise<number> {
  for (let i = 0; i < 20 && hung.open.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  return hung.open.size;
}

describe('a daemon that accepts and never answers', () => {
  it('a bounded API call ends at its bound, as a timeout, and leaves no connection open', async () => {
    const hung = await startDaemon(true);
    const client = await connectDocker(hung.address);
    const outcome = await settle(
      callDocker(client, 'reading the daemon', (signal) => apiGet(client.api, '/info', undefined, signal), 1_000),
      5_000,
    );
    expect(outcome.pending).toBeUndefined();
    expect(outcome.ms).toBeGreaterThanOrEqual(900);
    expect(outcome.ms).toBeLessThan(3_000);
    expect(outcome.error).toBeInstanceOf(OperatorError);
    expect((outcome.error as Error).message).toContain('it did not answer within 1 s');
    expect(await openAfterwards(hung)).toBe(0);
  }, 20_000);

  it('connecting ends at its bound and leaves no connection open', async () => {
    const hung = await startDaemon(false);
    const outcome = await settle(connectDocker(hung.address, { timeoutMs: 500 }), 5_000);
    expect(outcome.pending).toBeUndefined();
    expect(outcome.ms).toBeLessThan(3_000);
    expect((outcome.error as Error).message).toContain('it did not answer within 1 s');
    expect(await openAfterwards(hung)).toBe(0);
  }, 20_000);

  it('the daemon-status probe says "not answering" at its bound and leaves no connection open', async () => {
    const hung = await startDaemon(false);
    const outcome = await settle(daemonAnswers(hung.address, 300), 5_000);
    expect(outcome).toMatchObject({ value: false });
    expect(outcome.ms).toBeLessThan(3_000);
    expect(await openAfterwards(hung)).toBe(0);
  }, 20_000);

  it('the process that made a bounded call exits on its own once the bound has passed', async () => {
    const hung = await startDaemon(true);
    // The call in a process of its own (this test's Node: 16.20 under test:unit:node16), which
    // ends without process.exit: a connection or request left behind would keep it running.
    const source = path.join(dir!, 'caller.ts');
    await writeFile(
      source,
      `import { apiGet, callDocker, connectDocker } from ${JSON.stringify(path.resolve('src/docker/client.ts'))};
      void (async () => {
        const client = await connectDocker(${JSON.stringify(hung.address)});
        const started = Date.now();
        const message = await callDocker(client, 'reading the daemon', (signal) => apiGet(client.api, '/info', undefined, signal), 500).then(() => 'answered', (e: Error) => e.message);
        process.stdout.write(JSON.stringify({ message, ms: Date.now() - started }));
      })();`,
    );
    const script = path.join(dir!, 'caller.cjs');
    await build({ entryPoints: [source], outfile: script, bundle: true, packages: 'external', platform: 'node', format: 'cjs', target: 'node16', logLevel: 'warning' });
    const child = spawn(process.execPath, [script], { env: { ...process.env, NODE_PATH: path.resolve('node_modules') }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const started = Date.now();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(kill);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(8_000);
    const result = JSON.parse(out) as { message: string; ms: number };
    expect(result.message).toContain('it did not answer within 1 s');
    expect(result.ms).toBeLessThan(3_000);
  }, 30_000);
});

describe('what a request costs besides the request', () => {
  it("docker-modem's formatting of a request's options stays one short text while other connections are open", async () => {
    // docker-modem 5 runs util.inspect(options, { showHidden: true, depth: null }) for every
    // request, debug log on or off; the options hold the agent, and the agent its live sockets.
    const hung = await startDaemon(true);
    const client = await connectDocker(hung.address);
    const held = [client.api.getImage('a').inspect(), client.api.getImage('b').inspect()];
    held.forEach((call) => call.catch(() => undefined));
    for (let i = 0; i < 40 && hung.open.size < 2; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(hung.open.size).toBe(2);
    const inspect = vi.spyOn(util, 'inspect');
    try {
      client.api.getImage('c').inspect().catch(() => undefined);
      for (let i = 0; i < 40 && hung.open.size < 3; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      const formatted = inspect.mock.calls.flatMap((call, i) => ((call[1] as util.InspectOptions | undefined)?.showHidden ? [inspect.mock.results[i]!.value as string] : []));
      expect(formatted).toHaveLength(1);
      expect(formatted[0]).toContain('/images/c/json');
      expect(formatted[0]!.length).toBeLessThan(1_000);
    } finally {
      inspect.mockRestore();
    }
  }, 20_000);
});
