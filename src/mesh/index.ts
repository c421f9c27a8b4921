/**
 * The mesh: networks, nodes, IPAM, keys, enrollment and wg-quick configs — the desired state of
 * every WireGuard mesh, in Postgres. Pure helpers (cidr, ipam, render, events) have no I/O; the
 * service owns transactions, audit rows, the `node.*` events it writes to the outbox in the
 * transaction of each change, and the triggers it queues after commit. It also serves node configs
 * to node-config emails (`configSource()`), picks where mesh nodes reach each other from what their
 * agents report (`endpoints.ts`, pure) and answers which pairs shook hands recently
 * (`reachability.ts`, pure). It never touches a WireGuard interface, never puts a
 * key, token or ciphertext in an event, and never returns a private key except in a node's own
 * config (to an admin, the node, or the node owner's email). Key, address and endpoint parsing
 * belong to the data plane (`src/wireguard`), which the mesh builds on and which never imports it.
 */

// The key helpers are the data plane's; re-exported because the mesh's callers make and check keys.
export {
  generateKeyPair,
  generatePresharedKey,
  isWgKey,
  publicKeyOf,
  WG_KEY_PATTERN,
} from "../wireguard/index.js";
export * from "./cidr.js";
export * from "./config-push.js";
export * from "./effects.js";
export * from "./endpoints.js";
export * from "./events.js";
export * from "./ipam.js";
export * from "./mesh.schema.js";
export * from "./mesh.service.js";
export * from "./reachability.js";
export * from "./render.js";
export * from "./stream-slots.js";
export * from "./views.js";
export * from "./weak-keys.js";
