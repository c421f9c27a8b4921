import { bigint, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { networks } from "./networks.js";

/**
 * Hub hosts: each peer-sync worker that owns WireGuard interfaces (`WG_INTERFACES`) refreshes its row
 * every few seconds. A row whose heartbeat is older than the lease time belongs to a host that is gone.
 */
export const hubHosts = pgTable("hub_hosts", {
  /** `HUB_ID` (the host name unless set). */
  id: text().primaryKey(),
  /** Ids of the networks whose interfaces this host declares. */
  networks: text().array().notNull().default([]),
  heartbeatAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  startedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  version: text().notNull(),
});

/**
 * Who serves a network: the single truth. A host applies to a network's interface only while it holds
 * an unexpired lease; `epoch` grows by one on every takeover, so a host that lost the lease cannot
 * renew it.
 */
export const networkLeases = pgTable("network_leases", {
  networkId: uuid()
    .primaryKey()
    .references(() => networks.id, { onDelete: "cascade" }),
  hubId: text().notNull(),
  epoch: bigint({ mode: "number" }).notNull(),
  expiresAt: timestamp({ withTimezone: true }).notNull(),
  acquiredAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
