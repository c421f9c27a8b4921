/**
 * Monthly byte quotas of nodes (a node's own, else its network's default): the pure threshold logic
 * (80 % warns, 100 % disables) and the service that records each crossing once per month, disables
 * a node at its limit through the mesh's normal path, and restores it at the month's turn. It reads
 * usage as `src/usage` accumulated it and never reads an interface or counts bytes itself.
 */
export * from "./quota.service.js";
export * from "./thresholds.js";
