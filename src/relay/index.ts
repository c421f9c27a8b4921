/**
 * The WebSocket relay (server side): nodes of a mesh network that cannot reach each other directly
 * send their WireGuard datagrams through it, each behind the public key of the peer it is for. It owns
 * the wire format (shared with the agent) and the sessions of one API process. It must never read,
 * store or log a payload, forward across networks, or let a node send as anyone but itself.
 */
export * from "./frames.js";
export * from "./hub.js";
export * from "./relay.repo.js";
