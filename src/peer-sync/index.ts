/**
 * Peer sync: the worker side of the data plane. For each hub interface this worker owns
 * (`WG_INTERFACES`), it reads the interface, plans the difference from the database with the pure
 * planner, and applies it in one write; it also keeps the interface's own settings (MTU, addresses,
 * routes behind nodes) and forwarding between its peers, reports drift and reads usage counters. It never
 * writes the database's desired state, and never tears down a peer to change another.
 */

export * from "./drift.service.js";
export * from "./forwarding-board.js";
export * from "./interface-ops.js";
export * from "./link-sync.js";
export * from "./peer-sync.service.js";
export type { OwnedOutcome } from "./reconcile-owned.js";
