/**
 * The database schema: one file per table. drizzle-kit generates `drizzle/` from these files; never edit
 * an applied migration, add a new one (`npm run db:generate`).
 */
export * from "./api-keys.js";
export * from "./audit-log.js";
export * from "./emails.js";
export * from "./enrollment-keys.js";
export * from "./events.js";
export * from "./hubs.js";
export * from "./networks.js";
export * from "./node-config-links.js";
export * from "./node-reachability.js";
export * from "./nodes.js";
export * from "./pending-joins.js";
export * from "./quota-notices.js";
export * from "./retired-peers.js";
export * from "./scheduler-ticks.js";
export * from "./settings.js";
export * from "./sync-runs.js";
export * from "./usage-hourly.js";
export * from "./usage-monthly.js";
export * from "./users.js";
export * from "./webhooks.js";
