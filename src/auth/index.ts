/**
 * Authentication and authorisation: users with scrypt-hashed passwords, HS256 session tokens, API keys
 * stored as prefix + SHA-256, node tokens stored as SHA-256, and the `Principal` every request carries. Never stores or logs a key,
 * token or password; never accepts a token signed with any algorithm but HS256.
 */
export * from "./api-key.js";
export * from "./auth.schema.js";
export * from "./auth.service.js";
export * from "./node-token.js";
export * from "./password.js";
export * from "./principal.js";
export * from "./sign-in-guard.js";
