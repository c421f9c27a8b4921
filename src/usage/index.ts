/**
 * Usage: monthly transfer per peer, accumulated from WireGuard counters (resets and month changes
 * handled by the pure `accumulate`), and the latest handshake of each node. Never reads an interface
 * itself: the peer-sync worker hands it readings.
 */
export * from "./accounting.js";
export * from "./csv.js";
export * from "./report.js";
export * from "./usage.service.js";
