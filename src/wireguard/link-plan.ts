/**
 * The interface's own settings, planned like its peers: what the database says (addresses, MTU,
 * routes to subnets behind peers) against what the link has, as a plan of the differences. Pure: no
 * I/O, nothing read but the arguments.
 */
import { normaliseCidr, normaliseInterfaceAddress } from "./address.js";

/** What an interface should carry besides its peers. */
export interface DesiredLink {
  /** Interface addresses with their prefix (`10.0.0.1/24`). */
  addresses: readonly string[];
  /** Null: whatever the interface has (WireGuard's default). */
  mtu: number | null;
  /** Destinations routed through the interface (subnets behind peers), as CIDRs. */
  routes: readonly string[];
}

/** What the link has now (read with `ip -j`). */
export interface ActualLink {
  addresses: readonly string[];
  mtu: number;
  /** Routes through the interface that wiresync installs (`proto static`); others are not its own. */
  routes: readonly string[];
}

export interface LinkDrift {
  /** `listenPort` and `publicKey` are found (and repaired) by the peer sync's interface bring-up. */
  field: "address" | "mtu" | "route" | "listenPort" | "publicKey";
  desired: string | null;
  actual: string | null;
}

export interface LinkPlan {
  setMtu: number | null;
  addAddresses: string[];
  addRoutes: string[];
  removeRoutes: string[];
  /** Every difference, for drift reports and logs. */
  drift: LinkDrift[];
}

/** True when the plan changes nothing. */
export const isEmptyLinkPlan = (p: LinkPlan) =>
  p.setMtu === null && p.addAddresses.length === 0 && p.addRoutes.length === 0 && p.removeRoutes.length === 0;

/**
 * Plans the changes that make `actual` carry `desired`: the MTU when one is desired and differs,
 * addresses that are missing (extra addresses stay: an operator may have added them), routes that are
 * missing, and wiresync's own routes that are no longer desired. Values are compared in canonical form.
 */
export function planLink(desired: DesiredLink, actual: ActualLink): LinkPlan {
  const drift: LinkDrift[] = [];
  const setMtu = desired.mtu !== null && desired.mtu !== actual.mtu ? desired.mtu : null;
  if (setMtu !== null) drift.push({ field: "mtu", desired: String(desired.mtu), actual: String(actual.mtu) });
  const have = new Set(actual.addresses.map(normaliseInterfaceAddress));
  const addAddresses = [...new Set(desired.addresses.map(normaliseInterfaceAddress))].filter(
    (a) => !have.has(a),
  );
  for (const a of addAddresses) drift.push({ field: "address", desired: a, actual: null });
  const want = new Set(desired.routes.map(normaliseCidr));
  const routed = new Set(actual.routes.map(normaliseCidr));
  const addRoutes = [...want].filter((r) => !routed.has(r)).sort();
  const removeRoutes = [...routed].filter((r) => !want.has(r)).sort();
  for (const r of addRoutes) drift.push({ field: "route", desired: r, actual: null });
  for (const r of removeRoutes) drift.push({ field: "route", desired: null, actual: r });
  return { setMtu, addAddresses, addRoutes, removeRoutes, drift };
}

function cidrBits(cidr: string): { family: 4 | 6; bits: bigint; prefix: number } {
  const [addr, prefix] = normaliseCidr(cidr).split("/") as [string, string];
  const family = addr.includes(":") ? 6 : 4;
  let bits = 0n;
  if (family === 4) for (const part of addr.split(".")) bits = (bits << 8n) | BigInt(Number(part));
  else {
    const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    for (const g of groups) bits = (bits << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return { family, bits, prefix: Number(prefix) };
}

/** True when CIDR `inner` lies inside CIDR `outer` (same family, at least as long a prefix). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = cidrBits(inner);
  const b = cidrBits(outer);
  if (a.family !== b.family || a.prefix < b.prefix) return false;
  const width = BigInt(a.family === 4 ? 32 : 128);
  const shift = width - BigInt(b.prefix);
  return a.bits >> shift === b.bits >> shift;
}

/**
 * The routes an interface needs for `allowedIps`: every allowed range that the interface's own
 * connected subnets (`addresses` with their prefixes) do not already cover, de-duplicated and sorted.
 * A default route (`0.0.0.0/0`, `::/0`) is left out: taking over a host's default route is a choice
 * for its operator, not a side effect of a config.
 */
export function routesFor(addresses: readonly string[], allowedIps: readonly string[]): string[] {
  const connected = addresses.map((a) => normaliseCidr(a));
  const out = new Set<string>();
  for (const ip of allowedIps) {
    const cidr = normaliseCidr(ip);
    if (cidr.endsWith("/0")) continue;
    if (connected.some((c) => cidrWithin(cidr, c))) continue;
    out.add(cidr);
  }
  return [...out].sort();
}
