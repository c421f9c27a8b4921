/** What the relay reads from the database: who a node is, and whom it may send to. */
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { networks, nodes } from "../db/index.js";

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

/** The public keys of the other nodes of the node's network that are not disabled. */
export async function relayPeerKeys(db: Db, identity: RelayIdentity): Promise<string[]> {
  const rows = await db
    .select({ publicKey: nodes.publicKey })
    .from(nodes)
    .where(
      and(
        eq(nodes.networkId, identity.networkId),
        ne(nodes.id, identity.nodeId),
        ne(nodes.status, "disabled"),
      ),
    );
  return rows.map((r) => r.publicKey);
}

/** Who a node is and whom it may relay to, as the relay asks it. */
export interface RelayDirectory {
  /** The node's key, network and topology; undefined when the node is gone. */
  identify(nodeId: string): Promise<RelayIdentity | undefined>;
  /** The keys the node may send to: its mesh network's other nodes (none in a hub network). */
  peerKeys(identity: RelayIdentity): Promise<string[]>;
}

/** The relay directory of the database. */
export function dbRelayDirectory(db: Db): RelayDirectory {
  return {
    identify: (nodeId) => relayIdentity(db, nodeId),
    peerKeys: async (identity) => (identity.topology === "mesh" ? relayPeerKeys(db, identity) : []),
  };
}
