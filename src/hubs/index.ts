/**
 * Hub hosts: which host serves each network's WireGuard interface. Postgres holds the truth (a lease
 * per network with an epoch that grows on every takeover, and a heartbeat per host); BullMQ carries
 * each network's jobs to its holder's own queue. Owns leases, heartbeats and routing; never touches
 * an interface itself (the peer-sync service does, through `LeaseActions`), and never applies without
 * a live lease.
 */
export type { HubHostRow, LeaseRow } from "./hubs.repo.js";
export { acquireLease, heartbeat, listHubHosts, readLeases, releaseLease, renewLease } from "./hubs.repo.js";
export type { HubNetwork, LeaseActions, LeaseKeeper, LeaseKeeperOptions } from "./lease-keeper.js";
export { createLeaseKeeper, fenceMarginMs, HubConflictError } from "./lease-keeper.js";
export type { HubCounts, HubsReport, NetworkHub, NetworkHubState } from "./report.js";
export { hubCounts, hubsReport } from "./report.js";
export type { NetworkRoute, TaskDelegate } from "./routing.js";
export { createRoutedQueue, createTaskDelegate, routeOf } from "./routing.js";
