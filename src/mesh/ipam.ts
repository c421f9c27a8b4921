/**
 * IP address management. Pure: given a network's prefix and the addresses in use, which address does
 * the next node get. Never the network address, nor the IPv4 broadcast address (except in /31 and
 * /32, RFC 3021), nor the hub's (the hub takes the first usable address). Freed addresses are reused,
 * lowest first.
 */
import { DomainError } from "../errors.js";
import type { Cidr } from "./cidr.js";
import { bigIntToIp, ipToBigInt, sizeOf } from "./cidr.js";

/** First and last address a host may use in the prefix. */
export function usableRange(c: Cidr): { first: bigint; last: bigint } {
  const size = sizeOf(c);
  if (c.family === 4) {
    if (c.prefix >= 31) return { first: c.network, last: c.network + size - 1n };
    return { first: c.network + 1n, last: c.network + size - 2n };
  }
  if (c.prefix === 128) return { first: c.network, last: c.network };
  // IPv6: the all-zero host (subnet-router anycast) is never handed out.
  return { first: c.network + 1n, last: c.network + size - 1n };
}

/** The hub's address: the first usable address of the prefix. */
export function hubAddress(c: Cidr): string {
  return bigIntToIp(usableRange(c).first, c.family);
}

/** How many nodes the prefix holds besides the hub. */
export function nodeCapacity(c: Cidr): bigint {
  const { first, last } = usableRange(c);
  return last - first; // one usable address is the hub's
}

/**
 * The lowest free address in `c` for a node. `used` holds addresses already taken (the hub's
 * included or not: it is always skipped). Throws ADDRESS_POOL_EXHAUSTED when none is free.
 *
 * It runs under the network's lock for every enrollment, over every node's address, so it avoids
 * sorting and big integers: with n addresses in use, the lowest free one is among the n + 1 after the
 * hub's (pigeonhole), so only those are marked, in a bitmap. 10,000 dual-stack addresses take ~1 ms.
 */
export function allocateAddress(c: Cidr, used: Iterable<string>): string {
  const { first, last } = usableRange(c);
  const addresses = Array.isArray(used) ? (used as readonly string[]) : [...used];
  const room = last - first; // node addresses are first + 1 … first + room
  const window = Number(room < BigInt(addresses.length + 1) ? room : BigInt(addresses.length + 1));
  const taken = new Uint8Array(window + 1);
  const offsetOf = offsetReader(c, first, window);
  for (const ip of addresses) {
    const k = offsetOf(ip);
    if (k >= 1 && k <= window) taken[k] = 1;
  }
  const k = taken.indexOf(0, 1);
  if (k === -1) {
    throw new DomainError(
      "ADDRESS_POOL_EXHAUSTED",
      `no free IPv${c.family} address left in ${bigIntToIp(c.network, c.family)}/${c.prefix}; delete unused nodes or create a larger network`,
      { context: { cidr: `${bigIntToIp(c.network, c.family)}/${c.prefix}` } },
    );
  }
  return bigIntToIp(first + BigInt(k), c.family);
}

const HEX_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_DIGITS[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_DIGITS[65 + i] = 10 + i;
  HEX_DIGITS[97 + i] = 10 + i;
}
const COLON = 58;
const DOT = 46;

/**
 * A reader of `k` for addresses `first + k` of `c`'s family with 1 ≤ k ≤ window; any other address
 * reads as 0 (or as some k outside that range). `window` < 2^31, and the window never crosses a
 * multiple of 2^32 (`first` is 0 or 1 past an aligned network address, and the window stays inside
 * the network), so an IPv6 address is in it only if its upper 96 bits are `first`'s, and its offset is
 * a difference of the low 32 bits. Addresses in plain form (as Postgres prints them) are read by hand;
 * any other form goes through `ipToBigInt`, which also refuses what is not an address.
 */
function offsetReader(c: Cidr, first: bigint, window: number): (ip: string) => number {
  const slow = (ip: string): number => {
    const { family, value } = ipToBigInt(ip);
    const d = value - first;
    return family === c.family && d >= 1n && d <= BigInt(window) ? Number(d) : 0;
  };
  if (c.family === 4) {
    const base = Number(first);
    return (ip) => {
      const v = ipv4Value(ip);
      return v < 0 ? slow(ip) : v - base;
    };
  }
  const high = new Uint16Array(6);
  for (let i = 0; i < 6; i++) high[i] = Number((first >> BigInt(16 * (7 - i))) & 0xffffn);
  const baseLow = Number(first & 0xffffffffn);
  const groups = new Uint16Array(8);
  return (ip) => {
    if (!ipv6Groups(ip, groups)) return slow(ip);
    for (let i = 0; i < 6; i++) if (groups[i] !== high[i]) return 0;
    return groups[6]! * 0x10000 + groups[7]! - baseLow;
  };
}

/** The value of a dotted-quad IPv4 address without leading zeros, or -1 for anything else. */
function ipv4Value(ip: string): number {
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
function ipv6Groups(ip: string, out: Uint16Array): boolean {
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
