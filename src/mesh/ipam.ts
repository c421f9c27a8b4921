/**
 * IP address management. Pure: given a network's prefix and the addresses in use, which address does
 * the next node get. Never the network address, nor the IPv4 broadcast address (except in /31 and
 * /32, RFC 3021), nor the hub's (the hub takes the first usable address). Freed addresses are reused,
 * lowest first.
 */
import { DomainError } from "../errors.js";
import type { Cidr } from "./cidr.js";
import { bigIntToIp, ipToBigInt, ipv4Value, ipv6Groups, overlaps, parseCidr, sizeOf } from "./cidr.js";

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
  if (k === -1) throw poolExhausted(c);
  return bigIntToIp(first + BigInt(k), c.family);
}

function poolExhausted(c: Cidr): DomainError {
  const cidr = `${bigIntToIp(c.network, c.family)}/${c.prefix}`;
  return new DomainError(
    "ADDRESS_POOL_EXHAUSTED",
    `no free IPv${c.family} address left in ${cidr}; delete unused nodes or create a larger network`,
    { context: { cidr } },
  );
}

/** The most node addresses an `AddressPool` tells apart (`offsetReader`'s bound on its window). */
const POOL_WINDOW = 2 ** 31 - 1;

export type AddressPool = ReturnType<typeof createAddressPool>;

/**
 * The addresses in use in `c`, kept so that the lowest free one is found without going over all of
 * them again: `allocateAddress` reads every address for every enrollment, this reads each once, when
 * it is added. Used addresses are kept as offsets from the hub's (`first`), with `lowest`, an offset
 * below which every address is used. Only ever grows: a freed address needs a new pool (an
 * enrollment's known addresses are rebuilt from a read when the network's version moves, and
 * whatever frees an address moves it).
 */
export function createAddressPool(c: Cidr, used: Iterable<string> = []) {
  const { first, last } = usableRange(c);
  const room = last - first;
  const window = Number(room < BigInt(POOL_WINDOW) ? room : BigInt(POOL_WINDOW));
  const offsetOf = offsetReader(c, first, window);
  const taken = new Set<number>();
  /** Every offset from 1 up to (not including) this one is taken. */
  let lowest = 1;
  const pool = {
    /** Marks `ip` used; an address outside the pool's range (the hub's, another family's) is ignored. */
    add(ip: string): void {
      const k = offsetOf(ip);
      if (k < 1 || k > window) return;
      taken.add(k);
      while (taken.has(lowest)) lowest++;
    },

    /**
     * The lowest free address that is not one of `skip` (addresses claimed by enrollments in
     * flight). Throws ADDRESS_POOL_EXHAUSTED when none is free.
     */
    lowestFree(skip: Iterable<string> = []): string {
      const skipped = new Set<number>();
      for (const ip of skip) skipped.add(offsetOf(ip));
      let k = lowest;
      while (taken.has(k) || skipped.has(k)) k++;
      if (k > window) throw poolExhausted(c);
      return bigIntToIp(first + BigInt(k), c.family);
    },
  };
  for (const ip of used) pool.add(ip);
  return pool;
}

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

/** Address blocks a network can never use: the kernel, not WireGuard, owns what is in them. */
const RESERVED_BLOCKS: readonly { cidr: string; what: string }[] = [
  { cidr: "0.0.0.0/8", what: "the unspecified (this-network) range" },
  { cidr: "127.0.0.0/8", what: "the loopback range" },
  { cidr: "169.254.0.0/16", what: "the link-local range" },
  { cidr: "224.0.0.0/4", what: "the multicast range" },
  { cidr: "255.255.255.255/32", what: "the broadcast address" },
  { cidr: "::/128", what: "the unspecified address" },
  { cidr: "::1/128", what: "the loopback address" },
  { cidr: "::ffff:0:0/96", what: "the IPv4-mapped range" },
  { cidr: "fe80::/10", what: "the link-local range" },
  { cidr: "ff00::/8", what: "the multicast range" },
];

let reserved: { block: Cidr; cidr: string; what: string }[] | undefined;

/**
 * Why `c` cannot be a network's range, or undefined when it can: it overlaps a reserved block
 * (unspecified, loopback, link-local, multicast, broadcast, IPv4-mapped), or it has no room for the
 * hub and one node by `nodeCapacity` (an IPv4 /32, an IPv6 /127 or /128; a /31 holds both, RFC 3021).
 */
export function networkRangeProblem(c: Cidr): string | undefined {
  reserved ??= RESERVED_BLOCKS.map((b) => ({ ...b, block: parseCidr(b.cidr) }));
  const text = `${bigIntToIp(c.network, c.family)}/${c.prefix}`;
  for (const { block, cidr, what } of reserved) {
    if (overlaps(c, block)) return `${text} overlaps ${cidr}, ${what}; pick a private range`;
  }
  if (nodeCapacity(c) < 1n) {
    const widest = c.family === 4 ? 31 : 126;
    return `${text} has no room for the hub and one node; use a /${widest} or a shorter prefix`;
  }
  return undefined;
}
