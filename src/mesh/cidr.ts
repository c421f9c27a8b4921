/**
 * IP prefixes as numbers, for IPAM and overlap checks. Pure, no I/O. Address text is parsed and
 * printed by the data plane (`src/wireguard`), so a prefix reads the same on both sides.
 */
import { bytesToIp, ipToBytes } from "../wireguard/index.js";

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address as an integer. */
  network: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/**
 * The address as an integer. Throws for anything but a plain IPv4 or IPv6 address (parsed by the
 * data plane's `ipToBytes`, so both layers agree on what an address is).
 */
export function ipToBigInt(ip: string): { family: Family; value: bigint } {
  const parsed = ipToBytes(ip);
  if (!parsed) throw new Error(`${JSON.stringify(ip)} is not an IP address`);
  const value = parsed.bytes.reduce((acc, byte) => (acc << 8n) + BigInt(byte), 0n);
  return { family: parsed.family, value };
}

/** The canonical text of an address (RFC 5952 for IPv6), as the data plane prints it. */
export function bigIntToIp(value: bigint, family: Family): string {
  const length = BITS[family] / 8;
  const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt((length - 1 - i) * 8)) & 0xffn));
  return bytesToIp(bytes);
}

/**
 * Parses `addr/prefix`. With `strict`, host bits must be zero (as PostgreSQL's `cidr` demands);
 * otherwise they are cleared. Throws with the bad value and the fix.
 */
export function parseCidr(text: string, strict = true): Cidr {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) throw new Error(`${JSON.stringify(text)} is not a CIDR such as 10.10.0.0/24`);
  const { family, value } = ipToBigInt(match[1]!);
  const prefix = Number(match[2]);
  const bits = BITS[family];
  if (prefix > bits) throw new Error(`prefix /${prefix} is too long for IPv${family}`);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if (strict && (value & hostMask) !== 0n) {
    const fixed = bigIntToIp(value & ~hostMask, family);
    throw new Error(`${text} has host bits set; did you mean ${fixed}/${prefix}?`);
  }
  return { family, network: value & ~hostMask, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${bigIntToIp(c.network, c.family)}/${c.prefix}`;
}

/** Number of addresses in the prefix. */
export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefix);
}

/** True when `ip` lies inside `c`. */
export function contains(c: Cidr, ip: string): boolean {
  const addr = ipToBigInt(ip);
  if (addr.family !== c.family) return false;
  return addr.value >= c.network && addr.value < c.network + sizeOf(c);
}

/** True when the two prefixes share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.network < b.network + sizeOf(b) && b.network < a.network + sizeOf(a);
}

/** The single-address prefix of an address: `/32` or `/128`. */
export function hostPrefix(ip: string): string {
  return `${ip}/${BITS[addressFamily(ip)]}`;
}

/**
 * The family of an address; throws for what is not one. Plain spellings (as Postgres prints them)
 * are read by hand: this runs for every node of every peer sync.
 */
export function addressFamily(ip: string): Family {
  if (ipv4Value(ip) >= 0) return 4;
  if (ipv6Groups(ip, new Uint16Array(8))) return 6;
  return ipToBigInt(ip).family;
}

/** Strips a `/len` suffix PostgreSQL may add to `inet` values. */
export function addressOnly(inet: string): string {
  const slash = inet.indexOf("/");
  return slash < 0 ? inet : inet.slice(0, slash);
}

const HEX_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_DIGITS[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_DIGITS[65 + i] = 10 + i;
  HEX_DIGITS[97 + i] = 10 + i;
}
const COLON = 58;
const DOT = 46;

/** The value of a dotted-quad IPv4 address without leading zeros, or -1 for anything else. */
export function ipv4Value(ip: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const ch = ip.charCodeAt(i);
    if (ch === DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      dots++;
      part = 0;
      digits = 0;
      continue;
    }
    const d = ch - 48;
    if (d < 0 || d > 9 || (digits === 1 && part === 0)) return -1;
    part = part * 10 + d;
    if (++digits > 3 || part > 255) return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

/**
 * The eight groups of an IPv6 address written in hex groups and colons (at most one `::`), into
 * `out`. False for any other form (an embedded IPv4 part, a zone, anything malformed).
 */
export function ipv6Groups(ip: string, out: Uint16Array): boolean {
  const length = ip.length;
  let n = 0; // groups read
  let gap = -1; // where `::` stands, in groups
  let i = 0;
  if (length >= 2 && ip.charCodeAt(0) === COLON) {
    if (ip.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < length) {
    let value = 0;
    let digits = 0;
    for (; i < length; i++) {
      const ch = ip.charCodeAt(i);
      const d = ch < 128 ? HEX_DIGITS[ch]! : -1;
      if (d < 0) break;
      value = value * 16 + d;
      if (++digits > 4) return false;
    }
    if (digits === 0 || n === 8) return false;
    out[n++] = value;
    if (i === length) break;
    if (ip.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < length && ip.charCodeAt(i) === COLON) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === length) return false; // a single trailing colon
  }
  if (gap === -1) return n === 8;
  if (n === 8) return false; // `::` stands for at least one group
  const after = n - gap;
  for (let k = 0; k < after; k++) out[7 - k] = out[n - 1 - k]!;
  out.fill(0, gap, 8 - after);
  return true;
}
