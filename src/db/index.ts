/**
 * The database: schema, connections and migrations. Owns nothing of the domain; repos in each concept
 * folder query through the `Executor` they are given. Never import a driver elsewhere.
 */
export * from "./client.js";
export * from "./pipeline.js";
export * as schema from "./schema/index.js";
export * from "./schema/index.js";
export * from "./statement.js";
export * from "./unit-of-work.js";
