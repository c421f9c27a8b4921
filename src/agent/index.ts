/**
 * The node agent's core: registration with a key pair made on the node (the private key never leaves
 * it), reading the wg-quick configs wiresync renders (refusing hooks), applying them to the node's
 * own interface with minimal change (peers, routes, MTU, DNS), following config announcements,
 * sending heartbeats, and carrying the datagrams of mesh peers it cannot reach directly over the
 * API's WebSocket relay. It never executes anything a config says.
 */
export * from "./agent.js";
export * from "./api-client.js";
export * from "./apply.js";
export * from "./dns.js";
export * from "./reach.js";
export * from "./relay-link.js";
export * from "./relay-mode.js";
export * from "./relay-path.js";
export * from "./wg-quick.js";
