// A switchable front for a rig registry (issue 10: a registry that starts refusing the
// credentials in the middle of a push). Until it turns, every request is forwarded unchanged,
// the Host header too, so the registry's upload Locations point back at the gate. After the
// n-th manifest the registry accepted, every new request is answered 401 UNAUTHORIZED, as a
// registry whose password was changed under a running push. open() forwards again.
// failNext() makes it a registry with passing trouble (issue 19 item 15): the next N requests of
// one kind (manifest PUTs, blob upload starts) are answered with a 5xx, or their connection is
// dropped, instead of being forwarded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RegistryGate {
  /** "127.0.0.1:PORT": give this to dockerd and the tool instead of the registry's address. */
  address: string;
  /** Manifests the registry accepted through the gate (PUT …/manifests/… answered 201). */
  manifestsAccepted(): number;
  /** Requests answered 401 by the gate itself. */
  refused(): number;
  /** From the n-th accepted manifest on, refuse every request. */
  refuseAfterManifests(n: number): void;
  /** Forward everything again (failNext's count is left as it is). */
  open(): void;
  /** Answer the next `count` requests of `kind` with `answer` (Infinity: all of them) instead of forwarding them. */
  failNext(kind: RequestKind, count: number, answer?: FailAnswer): void;
  /** Requests failed by failNext so far. */
  failed(): number;
  close(): Promise<void>;
}

/** Which requests failNext fails: manifest uploads (PUT …/manifests/…) or blob upload starts (POST …/blobs/uploads/). */
export type RequestKind = 'manifest-put' | 'blob-upload';
/** An HTTP status (5xx, with the registry's JSON error body) or 'drop': the connection is destroyed unanswered. */
export type FailAnswer = number | 'drop';

function kindOf(req: http.IncomingMessage): RequestKind | undefined {
  const url = req.url ?? '';
  if (req.method === 'PUT' && /\/manifests\//.test(url)) return 'manifest-put';
  if (req.method === 'POST' && /\/blobs\/uploads\/?(\?|$)/.test(url)) return 'blob-upload';
  return undefined;
}

function failRequest(res: http.ServerResponse, answer: FailAnswer): void {
  if (answer === 'drop') {
    res.socket?.destroy();
    return;
  }
  res.writeHead(answer, { 'Content-Type': 'application/json; charset=utf-8', 'Docker-Distribution-Api-Version': 'registry/2.0' });
  res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: 'dmm rig gate' }] }));
}

const UNAUTHORIZED_BODY = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] });

function refuse(res: http.ServerResponse): void {
  res.writeHead(401, {
    'Content-Type': 'application/json; charset=utf-8',
    'Docker-Distribution-Api-Version': 'registry/2.0',
    'WWW-Authenticate': 'Basic realm="dmm-rig"',
  });
  res.end(UNAUTHORIZED_BODY);
}

export async function startRegistryGate(upstream: string): Promise<RegistryGate> {
  const [upstreamHost, upstreamPort] = upstream.split(':') as [string, string];
  let refuseFrom = Number.POSITIVE_INFINITY;
  let accepted = 0;
  let refusedCount = 0;
  let refusing = false;
  let failing: { kind: RequestKind; left: number; answer: FailAnswer } | undefined;
  let failedCount = 0;
  const server = http.createServer((req, res) => {
    if (refusing) {
      refusedCount += 1;
      req.resume();
      refuse(res);
      return;
    }
    if (failing && failing.left > 0 && kindOf(req) === failing.kind) {
      failing.left -= 1;
      failedCount += 1;
      req.resume();
      failRequest(res, failing.answer);
      return;
    }
    const forward = http.request({ host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => {
        if (req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && answer.statusCode === 201) {
          accepted += 1;
          if (accepted >= refuseFrom) refusing = true;
        }
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    manifestsAccepted: () => accepted,
    refused: () => refusedCount,
    refuseAfterManifests(n) {
      refuseFrom = n;
      refusing = accepted >= n;
    },
    open() {
      refuseFrom = Number.POSITIVE_INFINITY;
      refusing = false;
    },
    failNext(kind, count, answer = 500) {
      failing = { kind, left: count, answer };
    },
    failed: () => failedCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
