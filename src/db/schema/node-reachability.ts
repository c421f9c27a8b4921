import { index, pgTable, primaryKey, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";
import { nodes } from "./nodes.js";

/**
 * The latest handshake a node's agent reported with each mesh peer (one row per reporter and peer).
 * Handshakes with the hub are on `nodes.last_handshake_at` (read from the hub's interface). Rows go
 * with either node (cascade), so pairs of removed nodes are pruned by the delete itself.
 */
export const nodeReachability = pgTable(
  "node_reachability",
  {
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    nodeId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    peerId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    lastHandshakeAt: timestamp({ withTimezone: true }).notNull(),
    reportedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.nodeId, t.peerId] }),
    index("node_reachability_network_idx").on(t.networkId),
    index("node_reachability_peer_idx").on(t.peerId),
  ],
);
