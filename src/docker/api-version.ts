/**
 * API versions: which one the tool speaks, and from which version a request parameter may be
 * sent. Pure, so that create-spec and the fallbacks can use it without a client.
 */

/**
 * The newest API version whose changes this code knows (networks and MACs at create, 1.44);
 * also the oldest Engine 29 accepts. A daemon that speaks less is talked to at its own version.
 */
export const CLIENT_API_VERSION = '1.44';
/** The oldest API version every request of the tool is written for: Red Hat's docker 1.13.1. */
export const OLDEST_API_VERSION = '1.26';

/** Compares "1.41" and "1.44" numerically (a leading "v" is ignored). */
export function compareApiVersions(a: string, b: string): number {
  const parse = (v: string) => v.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when `version` is `since` or newer: whether a parameter added in API `since` may be sent. */
export function apiAtLeast(version: string, since: string): boolean {
  return compareApiVersions(version, since) >= 0;
}
