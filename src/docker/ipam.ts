/**
 * IPAM pools as Docker defines them: a pool created with a subnet and no gateway gets the
 * subnet's first address as its gateway. dockerd 20.10 shows that gateway in `network inspect`
 * only after it restarts (FACTS.md), so a pool compared before and after a restart must be
 * compared with the default filled in. Pure.
 */
import type { IpamPoolRecord } from './types.js';

/** The address after the network address of `subnet` ("172.28.5.0/24" → "172.28.5.1"); undefined when it has none or cannot be read. */
export function defaultGateway(subnet: string): string | undefined {
  const [address, prefixText] = subnet.split('/');
  const prefix = Number(prefixText);
  if (!address || !Number.isInteger(prefix)) return undefined;
  return address.includes(':') ? firstIPv6(address, prefix) : firstIPv4(address, prefix);
}

function firstIPv4(address: string, prefix: number): string | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || prefix < 0 || prefix > 30) return undefined;
  const value = parts.reduce((sum, p) => sum * 256 + p, 0);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(value / size) * size + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}

function firstIPv6(address: string, prefix: number): string | undefined {
  if (prefix < 0 || prefix > 126) return undefined;
  const [head = '', tail] = address.split('::');
  const groups = (text: string) => (text ? text.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const all = [...left, ...Array<string>(missing).fill('0'), ...right];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const value = all.reduce((sum, g) => (sum << 16n) + BigInt(parseInt(g, 16)), 0n);
  const host = 128n - BigInt(prefix);
  const first = ((value >> host) << host) + 1n;
  return compressIPv6(Array.from({ length: 8 }, (_, i) => Number((first >> BigInt(16 * (7 - i))) & 0xffffn)));
}

/** RFC 5952 text, as Go (and so dockerd) writes it: the longest run of two or more zero groups becomes "::". */
function compressIPv6(groups: number[]): string {
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

/** The pool with its gateway as Docker assigns it: a subnet without a gateway gets the subnet's first address. */
export function effectivePool(pool: IpamPoolRecord): IpamPoolRecord {
  if (!pool.subnet || pool.gateway) return pool;
  const gateway = defaultGateway(pool.subnet);
  return gateway ? { ...pool, gateway } : pool;
}
