import { DomainError } from "../errors.js";

/**
 * Canonical text of addresses, so that what the database says and what WireGuard prints compare
 * equal: host bits cleared (WireGuard stores `10.0.0.5/24` as `10.0.0.0/24`), IPv6 compressed per
 * RFC 5952, lowercase. Everything here is pure and throws `DomainError` VALIDATION_FAILED for bad input.
 */

function invalid(message: string, value: string): DomainError {
  // Addresses are not secrets, but cap what we echo: the value may be junk of any length.
  return new DomainError("VALIDATION_FAILED", message, { context: { value: value.slice(0, 80) } });
}

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!IPV4_PART.test(p)) return null;
    out.push(Number(p));
  }
  return out;
}

/** 16 bytes of an IPv6 address, or null. No zone ids. */
function parseIpv6(text: string): number[] | null {
  if (text.length < 2 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // IPv4-mapped addresses print with a dotted tail, as both inet_ntop and Go do.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

function maskBytes(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/**
 * The bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) literal, or null for anything else (no brackets,
 * no zone ids, no leading zeros in IPv4 parts). For arithmetic on addresses, such as IPAM's.
 */
export function ipToBytes(text: string): { family: 4 | 6; bytes: number[] } | null {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  return v6 ? { family: 6, bytes: v6 } : null;
}

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6, as `parseIp` prints). */
export function bytesToIp(bytes: readonly number[]): string {
  return bytes.length === 4 ? bytes.join(".") : formatIpv6(bytes);
}

export interface ParsedAddress {
  family: 4 | 6;
  /** Canonical text. */
  text: string;
}

/** Parses an IPv4 or IPv6 literal (no brackets, no zone) into canonical text, or returns null. */
export function parseIp(text: string): ParsedAddress | null {
  const ip = ipToBytes(text);
  return ip ? { family: ip.family, text: bytesToIp(ip.bytes) } : null;
}

/**
 * Canonical CIDR: `10.0.0.5/24` → `10.0.0.0/24`, `10.0.0.5` → `10.0.0.5/32`,
 * `FD00:0:0::1/64` → `fd00::/64`. Throws VALIDATION_FAILED for anything that is not an address.
 */
export function normaliseCidr(value: string): string {
  // Kept: the common case on both sides of every reconcile; a 1 % drift's CPU time 14 → 10 ms.
  if (isCanonicalIpv4Cidr(value)) return value;
  const text = value.trim();
  const slash = text.indexOf("/");
  const addr = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? null : text.slice(slash + 1);
  const v4 = parseIpv4(addr);
  const bytes = v4 ?? parseIpv6(addr);
  if (!bytes) throw invalid(`"${value.slice(0, 80)}" is not an IP address or CIDR`, value);
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw invalid(`"${value.slice(0, 80)}" has a prefix length outside 0–${max}`, value);
    }
    prefix = Number(prefixText);
  }
  const masked = maskBytes(bytes, prefix);
  return `${v4 ? masked.join(".") : formatIpv6(masked)}/${prefix}`;
}

/**
 * A copy of `value` that shares no memory with a string it was sliced from. V8 makes a slice of 13 or
 * more characters a view of its parent: kept for long, a field sliced from an interface dump would
 * keep the whole dump alive.
 */
export function detached(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

/**
 * True when `value` is already a canonical IPv4 CIDR (`a.b.c.d/n`, no leading zeros, host bits
 * clear). Hand-rolled without allocating: the common case of every reconcile, on both sides.
 */
function isCanonicalIpv4Cidr(value: string): boolean {
  let i = 0;
  let address = 0;
  for (let octet = 0; octet < 4; octet++) {
    const start = i;
    let n = 0;
    while (i < value.length) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || n > 255 || (digits > 1 && value.charCodeAt(start) === 48)) return false;
    if (value.charCodeAt(i) !== (octet < 3 ? 46 : 47)) return false;
    i++;
    address = address * 256 + n;
  }
  const start = i;
  let prefix = 0;
  while (i < value.length) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    prefix = prefix * 10 + d;
    i++;
  }
  const digits = i - start;
  if (digits === 0 || digits > 2 || prefix > 32 || (digits > 1 && value.charCodeAt(start) === 48))
    return false;
  const hostBits = 2 ** (32 - prefix);
  return address % hostBits === 0;
}

/** Normalised, de-duplicated and sorted: the form allowed-IP sets are compared in. */
export function normaliseCidrSet(values: readonly string[]): string[] {
  // Most peers have one or two allowed IPs; skip the Set and the sort for them (a reconcile of a
  // 10,000-peer interface normalises every peer on both sides).
  if (values.length === 0) return [];
  if (values.length === 1) return [normaliseCidr(values[0]!)];
  return [...new Set(values.map(normaliseCidr))].sort();
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * True when `value` is a DNS hostname (letters, digits and hyphens in dot-separated labels, any
 * case, no trailing dot) and not a dotted number that only looks like an IPv4 address.
 */
export function isHostname(value: string): boolean {
  const host = value.toLowerCase();
  return HOSTNAME.test(host) && !/^[\d.]+$/.test(host);
}

export interface ParsedEndpoint {
  /** Canonical `ip:port`, `[ip6]:port` or `hostname:port`. */
  text: string;
  host: string;
  port: number;
  /** True when `host` is an IP literal; false for a hostname that must be resolved. */
  isIp: boolean;
}

/**
 * Parses `1.2.3.4:51820`, `[fd00::1]:51820` or `vpn.example.com:51820`. Throws VALIDATION_FAILED
 * for anything else (so no newline, `=` or space can reach a config line or the userspace API).
 */
export function parseEndpoint(value: string): ParsedEndpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw invalid(`endpoint "${value.slice(0, 80)}" is not host:port with a port of 1–65535`, value);
  }
  if (m[1] !== undefined) {
    const v6 = parseIpv6(m[1]);
    if (!v6) throw invalid(`endpoint "${value.slice(0, 80)}" has a bad IPv6 address`, value);
    const host = formatIpv6(v6);
    return { text: `[${host}]:${port}`, host, port, isIp: true };
  }
  const raw = m[2]!;
  const v4 = parseIpv4(raw);
  if (v4) {
    const host = v4.join(".");
    return { text: `${host}:${port}`, host, port, isIp: true };
  }
  const host = raw.toLowerCase();
  if (!isHostname(host)) {
    throw invalid(`endpoint "${value.slice(0, 80)}" is neither an IP address nor a hostname`, value);
  }
  return { text: `${host}:${port}`, host, port, isIp: false };
}

/** Formats a resolved endpoint the way WireGuard prints it. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * An interface address such as `10.0.0.1/24`: canonical address text with its host bits kept (unlike
 * `normaliseCidr`). Throws VALIDATION_FAILED for anything else.
 */
export function normaliseInterfaceAddress(value: string): string {
  const slash = value.indexOf("/");
  const ip = parseIp(slash === -1 ? value : value.slice(0, slash));
  if (!ip) throw invalid(`"${value.slice(0, 80)}" is not an address with a prefix length`, value);
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw invalid(`"${value.slice(0, 80)}" has a prefix length outside 0–${max}`, value);
  }
  return `${ip.text}/${Number(prefixText)}`;
}
