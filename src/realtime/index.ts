/**
 * The live event stream: outbox events, numbered after commit, handed to SSE and WebSocket clients
 * by room, resumable after any position without a gap or a repeat, fanned out across API processes
 * through Redis. It owns rooms and who may join them, stream tokens and the per-process hub. It must
 * never write an event (src/events does) nor send one anywhere but an open stream.
 */
export * from "./hub.js";
export * from "./realtime.service.js";
export * from "./rooms.js";
export * from "./stream-tokens.js";
