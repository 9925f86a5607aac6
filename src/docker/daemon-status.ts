/**
 * Short questions to a daemon that may be stopping or starting: does it answer, and on which
 * storage driver. Each attempt has its own timeout, because a starting daemon (or a socket
 * held by systemd) can accept a connection and hang it (PITFALLS 16).
 */
import Docker from 'dockerode';
import { apiGet, parseDockerHost, withinBound } from './client.js';

/** True when GET /_ping at dockerHost answers within timeoutMs; false when refused, hanging or failing. */
export async function daemonAnswers(dockerHost: string, timeoutMs = 2_000): Promise<boolean> {
  const api = new Docker(parseDockerHost(dockerHost).options);
  try {
    await withinBound(timeoutMs, (signal) => apiGet<unknown>(api, '/_ping', undefined, signal));
    return true;
  } catch {
    return false;
  }
}

/** The engine version the daemon at dockerHost reports (GET /version), or undefined when it does not answer. */
export async function daemonVersion(dockerHost: string, timeoutMs = 5_000): Promise<string | undefined> {
  const api = new Docker(parseDockerHost(dockerHost).options);
  try {
    const version = await withinBound(timeoutMs, (signal) => apiGet<{ Version?: string }>(api, '/version', undefined, signal));
    return version.Version || undefined;
  } catch {
    return undefined;
  }
}
