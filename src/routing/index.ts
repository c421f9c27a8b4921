/**
 * Routing: which relay a node behind NAT should go through. The scorer (`score.ts`) is pure and
 * explains every score it gives; the service reads the asking node and its network's online relays
 * and hands them to it. It only reads: it never changes a node, and never returns a secret (public
 * keys, tunnel addresses and endpoints only).
 */
export * from "./routing.schema.js";
export * from "./routing.service.js";
export * from "./score.js";
