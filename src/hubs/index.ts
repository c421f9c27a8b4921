/**
 * Hub hosts: which host serves each network's WireGuard interface. Postgres holds the truth (a lease
 * per network with an epoch that grows on every takeover, and a heartbeat per host); BullMQ carries
 * each network's jobs to its holder's own queue. Owns leases, heartbeats and routing; never touches
 * an interface itself (the peer-sync service does, through `LeaseActions`), and never applies without
 * a live lease.
 */
export * from "./hubs.repo.js";
export * from "./lease-keeper.js";
export * from "./report.js";
export * from "./routing.js";
