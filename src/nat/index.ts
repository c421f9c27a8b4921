/**
 * NAT types: the one canonical spelling wiresync stores and answers (`full-cone`, …), the spellings
 * nodes send for them (`FullCone`, `full_cone`, `Open`, …), and which NAT types can reach which. Pure;
 * it owns no I/O and must never guess a type from an unknown spelling (those are refused, not mapped).
 */

/** Canonical NAT types, most open first. `udp-blocked`: no UDP out at all (a firewall). */
export const NAT_TYPES = [
  "none",
  "full-cone",
  "restricted-cone",
  "port-restricted-cone",
  "symmetric",
  "udp-blocked",
  "unknown",
] as const;
export type NatType = (typeof NAT_TYPES)[number];

/** Spellings by their letters alone (lowercase, without `-`, `_` and spaces). */
const SPELLINGS: Record<string, NatType> = {
  none: "none",
  open: "none",
  nonat: "none",
  public: "none",
  openinternet: "none",
  fullcone: "full-cone",
  restrictedcone: "restricted-cone",
  addressrestrictedcone: "restricted-cone",
  portrestrictedcone: "port-restricted-cone",
  symmetric: "symmetric",
  udpblocked: "udp-blocked",
  blocked: "udp-blocked",
  unknown: "unknown",
};

/** The spellings accepted for NAT types, for documentation and error messages. */
export const NAT_TYPE_SPELLINGS =
  "none (Open, None, NoNat, Public), full-cone (FullCone, full_cone), restricted-cone " +
  "(RestrictedCone, AddressRestrictedCone), port-restricted-cone (PortRestrictedCone), symmetric " +
  "(Symmetric), udp-blocked (Blocked, UdpBlocked), unknown (Unknown); any case, with '-', '_' or spaces";

/** The canonical NAT type a node's spelling names (`FullCone` → `full-cone`); undefined for none. */
export function canonicalNatType(spelling: string): NatType | undefined {
  const letters = spelling.replace(/[-_\s]/g, "").toLowerCase();
  return Object.hasOwn(SPELLINGS, letters) ? SPELLINGS[letters] : undefined;
}

/**
 * Whether hosts behind NAT types `a` and `b` can open a UDP path to each other (hole punching, both
 * sending first). Impossible: either side without UDP, and a symmetric NAT against a symmetric or
 * port-restricted one (the symmetric side's port changes per destination, and the other side admits
 * only the port it sent to). An `unknown` side is given the benefit of the doubt. Symmetric in `a`, `b`.
 */
export function canReachDirectly(a: NatType, b: NatType): boolean {
  if (a === "udp-blocked" || b === "udp-blocked") return false;
  const hard = (x: NatType, y: NatType) =>
    x === "symmetric" && (y === "symmetric" || y === "port-restricted-cone");
  return !hard(a, b) && !hard(b, a);
}

/** Whether a client behind `client` can open a UDP path to a relay behind `relay` (see `canReachDirectly`). */
export function canReachRelay(client: NatType, relay: NatType): boolean {
  return canReachDirectly(client, relay);
}
