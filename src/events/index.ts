/**
 * Domain events and the outbox. `emitEvent(tx, { type, data })` records an event in the transaction
 * of the change that causes it; the relay in src/notify moves it on to webhooks and emails. This
 * module owns the event names and what an event may carry. It must never send anything itself, and
 * an event must never carry a private key, token or secret (secret-named keys are dropped).
 */
export * from "./emit.js";
export * from "./sanitize.js";
export * from "./stream.repo.js";
export * from "./types.js";
