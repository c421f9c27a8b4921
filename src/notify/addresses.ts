/**
 * Which IP addresses a webhook may never reach: private, loopback, link-local, CGNAT, unspecified,
 * multicast, reserved and documentation ranges, in IPv4 and IPv6, including IPv4 addresses hidden
 * inside IPv6 (mapped `::ffff:a.b.c.d`, compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Pure.
 */
import net from "node:net";
import { ipToBytes } from "../wireguard/index.js";

const V4_BLOCKED: readonly [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

/** [prefix bytes, prefix length in bits, reason] */
const V6_BLOCKED: readonly [string, number, string][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["100::", 64, "discard"],
  ["2001::", 23, "IETF protocol assignments"],
  ["2001:db8::", 32, "documentation"],
  ["fc00::", 7, "unique local"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];

function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function v4Blocked(ip: string): string | undefined {
  const n = v4ToInt(ip);
  for (const [base, bits, reason] of V4_BLOCKED) {
    const size = 2 ** (32 - bits);
    const start = v4ToInt(base);
    if (n >= start && n < start + size) return reason;
  }
  return undefined;
}

/** The 16 bytes of an IPv6 address (zone id ignored); undefined when it is not one. */
function ipv6ToBytes(input: string): number[] | undefined {
  const parsed = ipToBytes(input.split("%")[0]!);
  return parsed?.family === 6 ? parsed.bytes : undefined;
}

const V6_BLOCKED_BYTES = V6_BLOCKED.map(
  ([base, bits, reason]) => [ipv6ToBytes(base)!, bits, reason] as const,
);

function prefixMatches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((bytes[byte]! & mask) !== (prefix[byte]! & mask)) return false;
  }
  return true;
}

const zeros = (n: number) => new Array(n).fill(0);

function embeddedV4(bytes: number[]): string | undefined {
  const v4 = (from: number) => bytes.slice(from, from + 4).join(".");
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
  if (prefixMatches(bytes, [...zeros(10), 0xff, 0xff, ...zeros(4)], 96)) return v4(12);
  if (prefixMatches(bytes, zeros(16), 96)) return v4(12);
  // 64:ff9b::/96 NAT64 and 64:ff9b:1::/48 local-use NAT64
  if (prefixMatches(bytes, [0, 0x64, 0xff, 0x9b, ...zeros(12)], 96)) return v4(12);
  if (prefixMatches(bytes, [0, 0x64, 0xff, 0x9b, 0, 1, ...zeros(10)], 48)) return v4(12);
  // 2002:aabb:ccdd::/48 6to4
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4(2);
  return undefined;
}

/**
 * Why a webhook may not connect to `ip` (e.g. `"loopback"`), or undefined when it may.
 * Anything that is not a valid IP address is refused as `"not an IP address"`.
 */
export function blockedReason(ip: string): string | undefined {
  if (net.isIPv4(ip)) return v4Blocked(ip);
  const bytes = ipv6ToBytes(ip);
  if (!bytes) return "not an IP address";
  for (const [base, bits, reason] of V6_BLOCKED_BYTES) {
    if (prefixMatches(bytes, base, bits)) return reason;
  }
  const hidden = embeddedV4(bytes);
  const reason = hidden === undefined ? undefined : v4Blocked(hidden);
  if (reason) return `${reason} (IPv4 ${hidden} inside IPv6)`;
  return undefined;
}
