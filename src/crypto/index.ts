/**
 * Cryptography on node's own `crypto`: AES-256-GCM envelopes for secrets at rest, SHA-256 for
 * high-entropy tokens, constant-time comparison and random tokens. Never logs or returns key material.
 */
export * from "./hash.js";
export * from "./secret-box.js";
