/**
 * What this project writes into and reads out of tar headers beyond what tar-stream does:
 * PAX records for sub-second times, large ids and extended attributes (GNU tar's
 * `SCHILY.xattr.*`, and libarchive's base64 `LIBARCHIVE.xattr.*` for values that are not
 * UTF-8, which tar-stream's string-based PAX codec would mangle).
 */
import type { Header } from 'tar-stream';

/** A tar-stream header as this module writes and reads it (PAX records as strings). */
export type TarHeader = Partial<Omit<Header, 'pax' | 'linkname'>> & {
  name: string;
  linkname?: string | null;
  pax?: Record<string, string> | null;
};

/** Largest value the 8-byte octal ustar fields hold as tar-stream writes them (6 digits). */
export const USTAR_ID_MAX = 0o777777;
/** Largest size an 11-digit octal ustar field holds; tar-stream writes base-256 above it. */
export const USTAR_SIZE_MAX = 0o77777777777;

/** PAX time ("seconds[.fraction]") of a nanosecond timestamp. */
export function formatPaxTime(ns: bigint): string {
  const billion = 1_000_000_000n;
  let seconds = ns / billion;
  let fraction = ns % billion;
  if (fraction < 0n) {
    fraction += billion;
    seconds -= 1n;
  }
  if (fraction === 0n) return seconds.toString();
  return `${seconds}.${fraction.toString().padStart(9, '0').replace(/0+$/, '')}`;
}

/** Nanoseconds of a PAX time, or undefined when it is not one. */
export function parsePaxTime(text: string): bigint | undefined {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) return undefined;
  const [, sign, whole, frac = ''] = match;
  const ns = BigInt(whole as string) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
  return sign === '-' ? -ns : ns;
}

/** Key and value of one extended attribute as a PAX record. */
export function xattrPaxRecord(name: string, value: Buffer): [string, string] {
  const text = value.toString('utf8');
  // PAX keys end at the first '=', and tar-stream decodes values as UTF-8.
  if (!/[=\n]/.test(name) && Buffer.from(text, 'utf8').equals(value)) return [`SCHILY.xattr.${name}`, text];
  return [`LIBARCHIVE.xattr.${encodeURIComponent(name)}`, value.toString('base64')];
}

/**
 * The extended attributes a header's PAX records carry; LIBARCHIVE's exact bytes win. `lossy`
 * names SCHILY records whose binary value tar-stream's UTF-8 decoding has already mangled
 * (GNU tar writes raw bytes there): those are left out rather than restored wrong.
 */
export function xattrsFromPax(pax: Record<string, string> | null | undefined): { xattrs: Map<string, Buffer>; lossy: string[] } {
  const xattrs = new Map<string, Buffer>();
  const lossy = new Set<string>();
  if (!pax) return { xattrs, lossy: [] };
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith('SCHILY.xattr.')) continue;
    const name = key.slice('SCHILY.xattr.'.length);
    if (value.includes('\uFFFD')) lossy.add(name);
    else xattrs.set(name, Buffer.from(value, 'utf8'));
  }
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith('LIBARCHIVE.xattr.')) continue;
    const name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
    xattrs.set(name, Buffer.from(value, 'base64'));
    lossy.delete(name);
  }
  return { xattrs, lossy: [...lossy] };
}

/** Major and minor numbers of a Linux dev_t (glibc's encoding). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}
