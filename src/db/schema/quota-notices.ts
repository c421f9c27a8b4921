import { bigint, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { nodes } from "./nodes.js";

/**
 * Quota thresholds a node crossed, one row per node, month and threshold (percent): the key makes each
 * crossing's event and action happen once per month, however often usage is collected.
 */
export const quotaNotices = pgTable(
  "quota_notices",
  {
    nodeId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    /** `YYYY-MM` in UTC. */
    month: text().notNull(),
    /** Percent of the quota: 80 or 100. */
    threshold: integer().notNull(),
    usedBytes: bigint({ mode: "number" }).notNull(),
    quotaBytes: bigint({ mode: "number" }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: "quota_notices_pkey", columns: [t.nodeId, t.month, t.threshold] })],
);
