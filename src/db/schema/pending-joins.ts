import { pgTable, primaryKey, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";
import { nodes } from "./nodes.js";

/**
 * Nodes that joined a network and whose peer its hub may not hold yet: written with the node, in the
 * same statement or transaction, and deleted by the peer sync once a write (a targeted apply, or a
 * full sync that read the network after the row was committed) carried the peer. The job that asks
 * for the apply names only the network, so enrollments in a burst coalesce into one job that reads
 * them all here. A row left behind (a worker that died before its write) is applied again by the
 * next apply of the network; adding a peer that is already there is harmless.
 */
export const pendingJoins = pgTable(
  "pending_joins",
  {
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    nodeId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    joinedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.nodeId] })],
);
