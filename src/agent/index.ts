/**
 * The node agent's core: registration with a key pair made on the node (the private key never leaves
 * it), reading the wg-quick configs wiresync renders (refusing hooks), applying them to the node's
 * own interface with minimal change (peers, routes, MTU, DNS), following config announcements and sending heartbeats. It never
 * executes anything a config says.
 */
export * from "./agent.js";
export * from "./api-client.js";
export * from "./apply.js";
export * from "./dns.js";
export * from "./reach.js";
export * from "./wg-quick.js";
