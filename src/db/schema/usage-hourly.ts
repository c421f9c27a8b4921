import { bigint, index, pgTable, primaryKey, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";
import { nodes } from "./nodes.js";

/**
 * Transfer per node per UTC hour: the deltas usage collection computed in that hour (counter resets
 * already handled, so a row never counts bytes twice). Only hours that moved traffic have a row. The
 * chart's hourly points; months beyond come from `usage_monthly`. Rows go with their node.
 */
export const usageHourly = pgTable(
  "usage_hourly",
  {
    nodeId: uuid()
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    /** Start of the hour, UTC. */
    hour: timestamp({ withTimezone: true }).notNull(),
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: "cascade" }),
    rxBytes: bigint({ mode: "number" }).notNull().default(0),
    txBytes: bigint({ mode: "number" }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.nodeId, t.hour] }),
    index("usage_hourly_network_hour_idx").on(t.networkId, t.hour),
  ],
);
