import { pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";

/**
 * Public keys that were peers of a network and no longer are (node deleted, disabled or re-keyed).
 * Peer sync removes these from the interface even when its trigger was lost; peers it never knew are
 * left alone and reported as drift until a drift fix removes them.
 */
export const retiredPeers = pgTable(
  "retired_peers",
  {
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    publicKey: text().notNull(),
    retiredAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.publicKey] })],
);
