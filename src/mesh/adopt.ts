/**
 * Adoption planning: which peers of an existing WireGuard interface (or of its wg0.conf) become
 * nodes of a network, and why the others cannot. Pure. Nothing is guessed: a peer's node address is
 * its one host address (`/32`, and `/128`) inside the network's ranges, its other allowed IPs become
 * the routes behind it, and a peer without such an address, with an address outside the network,
 * or one that collides with the hub, a node or another peer of the same import is refused with its
 * reason.
 */
import type { Cidr } from "./cidr.js";
import { contains, formatCidr, overlaps, parseCidr } from "./cidr.js";
import { usableRange } from "./ipam.js";

/** A peer offered for adoption, as the interface reports it or the wg0.conf names it. */
export interface AdoptCandidate {
  publicKey: string;
  /** Canonical CIDRs. */
  allowedIps: readonly string[];
  endpoint: string | null;
  hasPresharedKey: boolean;
  /** The comment line before its `[Peer]` header (wg0.conf only). */
  comment: string | null;
  /** Its `[Peer]` line in a wg0.conf. */
  line?: number;
}

/** What adoption needs of the network and its nodes. */
export interface AdoptTarget {
  cidr4: string;
  cidr6: string | null;
  hubIp4: string;
  hubIp6: string | null;
  hubPublicKey: string;
  nodes: readonly {
    publicKey: string;
    name: string;
    /** Without prefix. */
    ip4: string;
    ip6: string | null;
    extraAllowedIps: readonly string[];
  }[];
}

/** A peer that becomes a node. */
export interface AdoptedPeer {
  name: string;
  publicKey: string;
  ip4: string;
  ip6: string | null;
  endpoint: string | null;
  extraAllowedIps: string[];
  hasPresharedKey: boolean;
  line?: number;
}

export const ADOPT_REFUSALS = [
  "ALREADY_A_NODE",
  "HUB_KEY",
  "NO_ADDRESS",
  "OUTSIDE_NETWORK",
  "SEVERAL_ADDRESSES",
  "ADDRESS_TAKEN",
  "ADDRESS_COLLISION",
  "ROUTE_IN_NETWORK",
  "ROUTE_TAKEN",
] as const;
export type AdoptRefusal = (typeof ADOPT_REFUSALS)[number];

/** A peer that stays as it is, and why. */
export interface RefusedPeer {
  publicKey: string;
  /** The name it would have had. */
  name: string;
  reason: AdoptRefusal;
  message: string;
  line?: number;
}

export interface AdoptionPlan {
  adopt: AdoptedPeer[];
  refuse: RefusedPeer[];
}

const NAME_MAX = 63;

/**
 * A node name from a peer's comment, made to fit the node name rules (letters, digits, spaces, `.`,
 * `_`, `-`, starting with a letter or digit, at most 63 characters), or from its key when the
 * comment leaves nothing.
 */
export function adoptedName(comment: string | null, publicKey: string): string {
  const fromComment = (comment ?? "")
    .replace(/[^A-Za-z0-9._ -]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, NAME_MAX)
    .trim();
  if (fromComment) return fromComment;
  return `peer-${publicKey
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, 8)
    .toLowerCase()}`;
}

/** Where a peer's allowed IPs put it: its node addresses, its routes, and what is wrong with them. */
function placePeer(
  peer: AdoptCandidate,
  ranges: { v4: Cidr; v6: Cidr | null },
): { ip4: string[]; ip6: string[]; routes: string[]; outside: string[]; inRange: string[] } {
  const out = {
    ip4: [] as string[],
    ip6: [] as string[],
    routes: [] as string[],
    outside: [] as string[],
    inRange: [] as string[],
  };
  for (const text of peer.allowedIps) {
    const c = parseCidr(text, false);
    const range = c.family === 4 ? ranges.v4 : ranges.v6;
    const host = c.prefix === (c.family === 4 ? 32 : 128);
    const ip = formatCidr(c).split("/")[0]!;
    if (range && host && contains(range, ip)) {
      const { first, last } = usableRange(range);
      if (c.network < first || c.network > last) out.inRange.push(text);
      else (c.family === 4 ? out.ip4 : out.ip6).push(ip);
    } else if (range && overlaps(range, c)) out.inRange.push(text);
    else {
      if (host) out.outside.push(text);
      out.routes.push(formatCidr(c));
    }
  }
  return out;
}

/**
 * Plans an adoption: every candidate ends in `adopt` (with its node address, routes and a name unique
 * in the network) or in `refuse` (with a reason and a message naming the values), in the order
 * given. Peers of the same import that claim one address, or overlapping routes, are all refused:
 * which one is right is the operator's call.
 */
export function planAdoption(target: AdoptTarget, candidates: readonly AdoptCandidate[]): AdoptionPlan {
  const ranges = { v4: parseCidr(target.cidr4), v6: target.cidr6 ? parseCidr(target.cidr6) : null };
  const nodeKeys = new Set(target.nodes.map((n) => n.publicKey));
  const taken = new Map<string, string>([[target.hubIp4, "the hub"]]);
  if (target.hubIp6) taken.set(target.hubIp6, "the hub");
  for (const n of target.nodes) {
    taken.set(n.ip4, `node ${n.name}`);
    if (n.ip6) taken.set(n.ip6, `node ${n.name}`);
  }
  const nodeRoutes = target.nodes.flatMap((n) =>
    n.extraAllowedIps.map((r) => ({ route: r, by: `node ${n.name}` })),
  );

  const refuse: RefusedPeer[] = [];
  const placed: (AdoptedPeer & { index: number })[] = [];
  for (const [index, peer] of candidates.entries()) {
    const name = adoptedName(peer.comment, peer.publicKey);
    const no = (reason: AdoptRefusal, message: string) =>
      refuse.push({
        publicKey: peer.publicKey,
        name,
        reason,
        message,
        ...(peer.line ? { line: peer.line } : {}),
      });
    if (nodeKeys.has(peer.publicKey)) {
      no("ALREADY_A_NODE", "this key is already a node of the network");
      continue;
    }
    if (peer.publicKey === target.hubPublicKey) {
      no("HUB_KEY", "this key is the hub's own");
      continue;
    }
    const p = placePeer(peer, ranges);
    if (p.inRange.length > 0) {
      no(
        "ROUTE_IN_NETWORK",
        `${p.inRange.join(", ")} lies in the network's range but is not one node address; node addresses are single /32 (or /128) hosts`,
      );
      continue;
    }
    if (p.ip4.length === 0) {
      if (p.outside.length > 0 || p.ip6.length > 0)
        no(
          "OUTSIDE_NETWORK",
          `no IPv4 address inside ${target.cidr4}${p.outside.length ? ` (it has ${p.outside.join(", ")})` : ""}; move the peer into the network's range first`,
        );
      else
        no(
          "NO_ADDRESS",
          `no host address (/32) among its allowed IPs (${peer.allowedIps.join(", ") || "none"})`,
        );
      continue;
    }
    if (p.ip4.length > 1 || p.ip6.length > 1) {
      no(
        "SEVERAL_ADDRESSES",
        `several addresses inside the network (${[...p.ip4, ...p.ip6].join(", ")}); a node has one`,
      );
      continue;
    }
    const ip4 = p.ip4[0]!;
    const ip6 = p.ip6[0] ?? null;
    const holder = taken.get(ip4) ?? (ip6 ? taken.get(ip6) : undefined);
    if (holder) {
      no("ADDRESS_TAKEN", `${taken.has(ip4) ? ip4 : ip6} is ${holder}'s address`);
      continue;
    }
    const clash = p.routes
      .map((r) => ({ r, hit: nodeRoutes.find((o) => overlaps(parseCidr(r), parseCidr(o.route))) }))
      .find((x) => x.hit);
    if (clash) {
      no(
        "ROUTE_TAKEN",
        `route ${clash.r} overlaps ${clash.hit!.route} of ${clash.hit!.by}; each prefix may have one peer`,
      );
      continue;
    }
    placed.push({
      index,
      name,
      publicKey: peer.publicKey,
      ip4,
      ip6,
      endpoint: peer.endpoint,
      extraAllowedIps: p.routes,
      hasPresharedKey: peer.hasPresharedKey,
      ...(peer.line ? { line: peer.line } : {}),
    });
  }

  // Collisions inside the import: every peer involved is refused.
  const byAddress = new Map<string, number>();
  for (const a of placed)
    for (const ip of [a.ip4, a.ip6]) if (ip) byAddress.set(ip, (byAddress.get(ip) ?? 0) + 1);
  const adopt: AdoptedPeer[] = [];
  const names = new Set(target.nodes.map((n) => n.name));
  for (const a of placed) {
    const { index: _index, ...peer } = a;
    const shared = [a.ip4, a.ip6].find((ip) => ip && byAddress.get(ip)! > 1);
    const routeClash = a.extraAllowedIps.find((r) =>
      placed.some((o) => o !== a && o.extraAllowedIps.some((x) => overlaps(parseCidr(r), parseCidr(x)))),
    );
    const at = a.line ? { line: a.line } : {};
    if (shared) {
      refuse.push({
        publicKey: a.publicKey,
        name: a.name,
        reason: "ADDRESS_COLLISION",
        message: `${shared} is also claimed by another peer of this import`,
        ...at,
      });
      continue;
    }
    if (routeClash) {
      refuse.push({
        publicKey: a.publicKey,
        name: a.name,
        reason: "ROUTE_TAKEN",
        message: `route ${routeClash} overlaps a route of another peer of this import`,
        ...at,
      });
      continue;
    }
    let name = peer.name;
    for (let i = 2; names.has(name); i++)
      name = `${peer.name.slice(0, NAME_MAX - 1 - String(i).length)}-${i}`;
    names.add(name);
    adopt.push({ ...peer, name });
  }
  return { adopt, refuse };
}
