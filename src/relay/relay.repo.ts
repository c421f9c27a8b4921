/** What the relay reads from the database: who a node is, and whom it may send to. */
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { networks, nodes } from "../db/index.js";
import type { NatType } from "../nat/index.js";
import { canonicalNatType } from "../nat/index.js";

export interface RelayIdentity {
  nodeId: string;
  networkId: string;
  publicKey: string;
  topology: "hub" | "mesh";
  disabled: boolean;
}

/** The node's key, network and topology; undefined when the node is gone. */
export async function relayIdentity(db: Db, nodeId: string): Promise<RelayIdentity | undefined> {
  const [row] = await db
    .select({
      nodeId: nodes.id,
      networkId: nodes.networkId,
      publicKey: nodes.publicKey,
      topology: networks.topology,
      status: nodes.status,
    })
    .from(nodes)
    .innerJoin(networks, eq(networks.id, nodes.networkId))
    .where(eq(nodes.id, nodeId));
  if (!row) return undefined;
  const { status, ...identity } = row;
  return { ...identity, disabled: status === "disabled" };
}

/** Whom a node may relay to, and the NAT types known of them and of itself. */
export interface RelayPeerList {
  publicKeys: string[];
  /** The canonical NAT type of each peer that has one (`publicKey → type`). */
  natTypes: Record<string, NatType>;
  /** The node's own NAT type; undefined when it has none. */
  ownNatType?: NatType;
}

/** A stored NAT type in its canonical spelling (older rows may hold a node's own); undefined for none. */
const natOf = (stored: string | null): NatType | undefined =>
  stored === null ? undefined : (canonicalNatType(stored) ?? "unknown");

/**
 * The public keys of the other nodes of the node's network that are not disabled, with the NAT types
 * of those and of the node itself (read together, so the node learns its own as it stands now).
 */
export async function relayPeerList(db: Db, identity: RelayIdentity): Promise<RelayPeerList> {
  const rows = await db
    .select({ id: nodes.id, publicKey: nodes.publicKey, natType: nodes.natType })
    .from(nodes)
    .where(and(eq(nodes.networkId, identity.networkId), ne(nodes.status, "disabled")));
  const list: RelayPeerList = { publicKeys: [], natTypes: {} };
  for (const row of rows) {
    const natType = natOf(row.natType);
    if (row.id === identity.nodeId) {
      if (natType) list.ownNatType = natType;
      continue;
    }
    list.publicKeys.push(row.publicKey);
    if (natType) list.natTypes[row.publicKey] = natType;
  }
  return list;
}

/** Who a node is and whom it may relay to, as the relay asks it. */
export interface RelayDirectory {
  /** The node's key, network and topology; undefined when the node is gone. */
  identify(nodeId: string): Promise<RelayIdentity | undefined>;
  /**
   * The keys the node may send to (its mesh network's other nodes; none in a hub network) and the NAT
   * types known of them and of the node.
   */
  peers(identity: RelayIdentity): Promise<RelayPeerList>;
}

/** The relay directory of the database. */
export function dbRelayDirectory(db: Db): RelayDirectory {
  return {
    identify: (nodeId) => relayIdentity(db, nodeId),
    peers: async (identity) =>
      identity.topology === "mesh" ? relayPeerList(db, identity) : { publicKeys: [], natTypes: {} },
  };
}
