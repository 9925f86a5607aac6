// A minimal Docker API caller over a unix socket for the rig's own housekeeping (ping, list
// networks before teardown). The product code's client lives in src/docker; the rig does not
// depend on it so that a broken client cannot break the rig.
import { request } from 'node:http';

export interface ApiResponse {
  status: number;
  body: string;
}

/** One HTTP request to the daemon; rejects on connection errors or after timeoutMs. */
export function apiRequest(socketPath: string, method: string, path: string, timeoutMs = 5_000): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: timeoutMs, headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** True when the daemon answers /_ping with OK. */
export async function ping(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await apiRequest(socketPath, 'GET', '/_ping', timeoutMs);
    return res.status === 200;
  } catch {
    return false;
  }
}

/** GET a JSON endpoint; throws on a non-2xx answer. */
export async function apiJson<T>(socketPath: string, path: string, timeoutMs = 10_000): Promise<T> {
  const res = await apiRequest(socketPath, 'GET', path, timeoutMs);
  if (res.status < 200 || res.status >= 300) throw new Error(`GET ${path}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}
