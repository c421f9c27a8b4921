import { boolean, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";
import { NODE_ROLES } from "./nodes.js";

/** Keys that let a node register itself into one network. Stored as prefix + SHA-256, never the key. */
export const enrollmentKeys = pgTable(
  "enrollment_keys",
  {
    id: uuid().primaryKey().defaultRandom(),
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    prefix: text().notNull().unique(),
    keyHash: text().notNull(),
    description: text(),
    reusable: boolean().notNull().default(false),
    /** For reusable keys: how many registrations it admits (null: unlimited). One-use keys admit one. */
    maxUses: integer(),
    uses: integer().notNull().default(0),
    expiresAt: timestamp({ withTimezone: true }),
    role: text({ enum: NODE_ROLES }).notNull().default("peer"),
    tags: text().array().notNull().default([]),
    revokedAt: timestamp({ withTimezone: true }),
    createdBy: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index("enrollment_keys_network_idx").on(t.networkId)],
);
