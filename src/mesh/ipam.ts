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
 */
export function allocateAddress(c: Cidr, used: Iterable<string>): string {
  const { first, last } = usableRange(c);
  const taken: bigint[] = [];
  for (const ip of used) {
    const { family, value } = ipToBigInt(ip);
    if (family === c.family && value > first && value <= last) taken.push(value);
  }
  taken.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let candidate = first + 1n; // `first` is the hub's
  for (const value of taken) {
    if (value > candidate) break;
    if (value === candidate) candidate++;
  }
  if (candidate > last) {
    throw new DomainError(
      "ADDRESS_POOL_EXHAUSTED",
      `no free IPv${c.family} address left in ${bigIntToIp(c.network, c.family)}/${c.prefix}; delete unused nodes or create a larger network`,
      { context: { cidr: `${bigIntToIp(c.network, c.family)}/${c.prefix}` } },
    );
  }
  return bigIntToIp(candidate, c.family);
}
