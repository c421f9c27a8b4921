/**
 * TURN/STUN for nodes that cannot reach each other directly: the ICE servers a node should use, with
 * credentials for coturn's REST-API shared secret (`credentials.ts`, pure). wiresync runs no TURN
 * server itself (coturn does) and never stores a credential; it must never log or return the
 * shared secret, and hands a node's credentials only to that node and to admins.
 */
export * from "./credentials.js";
export * from "./turn.service.js";
