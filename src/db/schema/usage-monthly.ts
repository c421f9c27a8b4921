import { bigint, index, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";
import { nodes } from "./nodes.js";

/**
 * Transfer per peer per month, accumulated from the interface's counters. `lastRx`/`lastTx` are the
 * counters seen last, so a counter reset (interface restart) is detected and never counted negative.
 * Rows outlive their node when usage history is kept (`nodeId` becomes null, the key and name stay).
 */
export const usageMonthly = pgTable(
  "usage_monthly",
  {
    id: uuid().primaryKey().defaultRandom(),
    networkId: uuid().references(() => networks.id, { onDelete: "set null" }),
    nodeId: uuid().references(() => nodes.id, { onDelete: "set null" }),
    publicKey: text().notNull(),
    nodeName: text(),
    email: text(),
    /** `YYYY-MM` in UTC. */
    month: text().notNull(),
    rxBytes: bigint({ mode: "number" }).notNull().default(0),
    txBytes: bigint({ mode: "number" }).notNull().default(0),
    lastRx: bigint({ mode: "number" }).notNull().default(0),
    lastTx: bigint({ mode: "number" }).notNull().default(0),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("usage_monthly_key_month_key").on(t.networkId, t.publicKey, t.month),
    index("usage_monthly_node_idx").on(t.nodeId),
  ],
);
