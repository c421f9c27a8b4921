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
  const { family } = ipToBigInt(ip);
  return `${ip}/${BITS[family]}`;
}

/** Strips a `/len` suffix PostgreSQL may add to `inet` values. */
export function addressOnly(inet: string): string {
  const slash = inet.indexOf("/");
  return slash < 0 ? inet : inet.slice(0, slash);
}
