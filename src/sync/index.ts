/**
 * Sync runs: the record of every reconcile (full, peers, configs, usage, drift fix) from request to
 * finish. Owns the run lifecycle and the cancel flag; the work of each task is given to it as
 * `TaskHandlers`, so this module never touches WireGuard, Redis or the network itself.
 */

export * from "./handlers.js";
export type { SyncRunRow } from "./sync.repo.js";
export { FINISHED_STATUSES } from "./sync.repo.js";
export * from "./sync.service.js";
export * from "./tasks.js";
