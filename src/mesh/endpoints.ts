/**
 * Where a mesh node can be reached: the endpoint one node's config names for another, chosen from what
 * an operator set and what the node's agent reported. Pure: no I/O, no clock.
 *
 * The order, first match wins, for a `target` node as its peer `viewer` sees it:
 *  1. `operator`  — the endpoint an operator set on the node (`endpoint` of the node).
 *  2. `reported`  — a public endpoint the node reported: the heartbeat's `endpoint` (the node's own
 *     view, e.g. from STUN), else a public address on one of its interfaces with its listen port.
 *  3. `lan`       — a private address of the target in a subnet the viewer has an address in too (the
 *     two share a LAN), with its listen port. Not when both were seen from different public addresses
 *     (two sites that happen to number their LANs alike). Ahead of `reflexive` because two nodes
 *     behind one NAT share their reflexive address, and reaching it from inside needs hairpin NAT.
 *  4. `reflexive` — the address the server saw the target's heartbeats come from, with its listen
 *     port (right when its NAT keeps the port, as most home routers do).
 *  5. none        — no endpoint: the viewer waits for the target to reach it first (WireGuard then
 *     learns the target's address from its packets).
 * The viewer's facts matter only for `lan`; a viewer without an agent (a config-only node, or the hub)
 * gets 1, 2 and 4.
 */
import type { NodeEndpointCandidates } from "../db/index.js";
import { formatEndpoint, parseIp } from "../wireguard/index.js";
import { addressOnly, contains, hostPrefix, parseCidr } from "./cidr.js";

export type { NodeEndpointCandidates };

/** At most this many addresses per node are kept (a heartbeat with more is refused). */
export const MAX_CANDIDATE_ADDRESSES = 32;

/** Keepalive given to a node behind NAT when its network sets none, in seconds. */
export const NAT_KEEPALIVE_SECONDS = 25;

export type AddressScope = "public" | "private" | "loopback" | "link-local" | "unusable";

export type EndpointSource = "operator" | "reported" | "lan" | "reflexive";

/** What the choice needs of a node. */
export interface EndpointFacts {
  /** Set by an operator. */
  endpoint: string | null;
  /** Reported by the node's agent; null when it never reported any (an old agent, or none). */
  candidates?: NodeEndpointCandidates | null | undefined;
}

export interface ChosenEndpoint {
  endpoint: string;
  source: EndpointSource;
}

const V4_RANGES: [string, AddressScope][] = [
  ["0.0.0.0/8", "unusable"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["10.0.0.0/8", "private"],
  ["172.16.0.0/12", "private"],
  ["192.168.0.0/16", "private"],
  // Carrier-grade NAT: not reachable from the internet.
  ["100.64.0.0/10", "private"],
  ["224.0.0.0/3", "unusable"],
];
const V6_RANGES: [string, AddressScope][] = [
  ["::/128", "unusable"],
  ["::1/128", "loopback"],
  ["fe80::/10", "link-local"],
  ["fc00::/7", "private"],
  ["ff00::/8", "unusable"],
];
const RANGES = {
  4: V4_RANGES.map(([c, scope]) => ({ cidr: parseCidr(c), scope })),
  6: V6_RANGES.map(([c, scope]) => ({ cidr: parseCidr(c), scope })),
};

/**
 * Where an address can be reached from. Documentation ranges (192.0.2.0/24, 2001:db8::/32, …) count
 * as public, so examples and tests can stand for the internet. `unusable` for non-addresses.
 */
export function addressScope(ip: string): AddressScope {
  const parsed = parseIp(unmapped(ip));
  if (!parsed) return "unusable";
  for (const r of RANGES[parsed.family]) if (contains(r.cidr, parsed.text)) return r.scope;
  return "public";
}

/** `::ffff:192.0.2.1` (how a dual-stack socket shows an IPv4 client) as `192.0.2.1`. */
export function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/**
 * The address a heartbeat came from as a reflexive candidate: canonical text, or null for an address
 * no other node could use (loopback, link-local, unparsable).
 */
export function reflexiveCandidate(remoteAddress: string | undefined): string | null {
  if (!remoteAddress) return null;
  const parsed = parseIp(unmapped(remoteAddress));
  if (!parsed) return null;
  const scope = addressScope(parsed.text);
  return scope === "public" || scope === "private" ? parsed.text : null;
}

/**
 * An agent's reported candidates in the stored form: addresses canonical (`ip/prefix`), de-duplicated
 * and sorted, those no peer could use (loopback, link-local, inside `excludeRanges`) dropped; the reflexive address from
 * `reflexiveCandidate`. Equal candidates give equal JSON, so a change is a string compare.
 */
export function normaliseCandidates(input: {
  listenPort: number | null;
  addresses: readonly string[];
  reported: string | null;
  reflexive: string | null;
  /** Ranges whose addresses are no candidates: the network's own (the WireGuard interface's). */
  excludeRanges?: readonly string[];
}): NodeEndpointCandidates {
  const excluded = (input.excludeRanges ?? []).map((r) => parseCidr(r, false));
  const addresses = new Set<string>();
  for (const a of input.addresses) {
    const slash = a.indexOf("/");
    const ip = parseIp(slash === -1 ? a : a.slice(0, slash));
    if (!ip) continue;
    const scope = addressScope(ip.text);
    if (scope !== "public" && scope !== "private") continue;
    if (excluded.some((r) => contains(r, ip.text))) continue;
    const max = ip.family === 4 ? 32 : 128;
    const prefix = slash === -1 ? max : Number(a.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) continue;
    addresses.add(`${ip.text}/${prefix}`);
  }
  return {
    listenPort: input.listenPort,
    addresses: [...addresses].sort().slice(0, MAX_CANDIDATE_ADDRESSES),
    reported: input.reported,
    reflexive: input.reflexive,
  };
}

/**
 * A candidate set as text that is equal exactly when the sets say the same: its fields in a fixed
 * order. Foot-gun: not `JSON.stringify` of the object, whose key order is the writer's — Postgres
 * returns jsonb keys shortest first, so a stored set never equalled a freshly normalised one.
 */
export function candidatesKey(c: NodeEndpointCandidates | null | undefined): string {
  return c ? JSON.stringify([c.listenPort, c.addresses, c.reported, c.reflexive]) : "null";
}

/** True when two stored candidate sets say the same (their normalised forms are equal). */
export function sameCandidates(
  a: NodeEndpointCandidates | null | undefined,
  b: NodeEndpointCandidates | null | undefined,
): boolean {
  return candidatesKey(a) === candidatesKey(b);
}

const hostOf = (address: string) => address.slice(0, address.indexOf("/"));

/**
 * True when the node is behind NAT: the server saw its heartbeats come from an address that is none
 * of its own. Unknown (no reflexive address, no candidates) counts as not behind NAT.
 */
export function isBehindNat(candidates: NodeEndpointCandidates | null | undefined): boolean {
  if (!candidates?.reflexive) return false;
  return !candidates.addresses.some((a) => hostOf(a) === candidates.reflexive);
}

/** True when `a` and `b` were both seen from public addresses, different ones: two different sites. */
function onDifferentSites(a: NodeEndpointCandidates, b: NodeEndpointCandidates): boolean {
  return (
    a.reflexive !== null &&
    b.reflexive !== null &&
    a.reflexive !== b.reflexive &&
    addressScope(a.reflexive) === "public" &&
    addressScope(b.reflexive) === "public"
  );
}

/** A private address of `target` in a subnet `viewer` has an address in, or undefined. */
function sharedLanAddress(
  target: NodeEndpointCandidates,
  viewer: NodeEndpointCandidates,
): string | undefined {
  for (const candidate of target.addresses) {
    const ip = hostOf(candidate);
    if (addressScope(ip) !== "private") continue;
    for (const own of viewer.addresses) {
      const subnet = parseCidr(own, false);
      if (hostOf(own) !== ip && contains(subnet, ip)) return ip;
    }
  }
  return undefined;
}

/**
 * The endpoint `viewer`'s config names for `target`, by the order in this module's doc, or null when
 * none is known. `viewer` is undefined for a viewer without an agent (it has no LAN facts).
 */
export function chooseEndpoint(target: EndpointFacts, viewer?: EndpointFacts): ChosenEndpoint | null {
  if (target.endpoint) return { endpoint: target.endpoint, source: "operator" };
  const c = target.candidates;
  if (!c) return null;
  if (c.reported) return { endpoint: c.reported, source: "reported" };
  if (c.listenPort === null) return null;
  const port = c.listenPort;
  const publicAddress = c.addresses.map(hostOf).find((ip) => addressScope(ip) === "public");
  if (publicAddress) return { endpoint: formatEndpoint(publicAddress, port), source: "reported" };
  const v = viewer?.candidates;
  if (v && !onDifferentSites(c, v)) {
    const lan = sharedLanAddress(c, v);
    if (lan) return { endpoint: formatEndpoint(lan, port), source: "lan" };
  }
  if (c.reflexive) return { endpoint: formatEndpoint(c.reflexive, port), source: "reflexive" };
  return null;
}

/**
 * The `PersistentKeepalive` of the peers in a node's config: the network's, or at least
 * `NAT_KEEPALIVE_SECONDS` when the node must keep its side open — it is behind NAT, or (`configOnly`)
 * it runs no agent in a mesh, so peers learn its address only from packets it sends.
 */
export function keepaliveFor(
  networkKeepalive: number | null,
  node: EndpointFacts,
  options: { configOnly: boolean },
): number | null {
  if (options.configOnly || isBehindNat(node.candidates)) return networkKeepalive || NAT_KEEPALIVE_SECONDS;
  return networkKeepalive;
}

/** What a heartbeat says of where its node can be reached (validated by `HeartbeatInput`). */
export interface HeartbeatReach {
  candidates?: { listenPort: number; addresses: string[] } | undefined;
  endpoint?: string | undefined;
}

/**
 * The candidates to store after a heartbeat from `node`, seen from `remoteAddress`; undefined when the
 * heartbeat says nothing of them (an agent from before candidates: neither `candidates` nor `endpoint`),
 * so the stored ones stay. The node's own tunnel addresses are never candidates.
 */
export function heartbeatCandidates(
  node: { ip4: string; ip6: string | null },
  input: HeartbeatReach,
  remoteAddress: string | undefined,
): NodeEndpointCandidates | undefined {
  if (!input.candidates && input.endpoint === undefined) return undefined;
  const own = [node.ip4, ...(node.ip6 ? [node.ip6] : [])].map((ip) => hostPrefix(addressOnly(ip)));
  return normaliseCandidates({
    listenPort: input.candidates?.listenPort ?? null,
    addresses: input.candidates?.addresses ?? [],
    reported: input.endpoint ?? null,
    reflexive: reflexiveCandidate(remoteAddress),
    excludeRanges: own,
  });
}
