import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { nodes } from "./nodes.js";

/**
 * One-time links to download one node's config. Only the SHA-256 of the link's token is stored; a
 * link is used (`usedAt`) once, by the statement that claims it.
 */
export const nodeConfigLinks = pgTable(
  "node_config_links",
  {
    id: uuid().primaryKey().defaultRandom(),
    nodeId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    tokenHash: text().notNull().unique("node_config_links_token_hash_key"),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index("node_config_links_node_idx").on(t.nodeId)],
);
