/**
 * Queues: names, job payloads, priorities, the Redis connection factory and the `JobQueue` port with
 * its BullMQ adapter. Owns the shape of every trigger; must never hold state that Postgres does not
 * also hold (a Redis flush loses triggers, never data).
 */
export * from "./connection.js";
export * from "./job-queue.js";
export * from "./jobs.js";
export * from "./local-redis.js";
export * from "./names.js";
export * from "./priorities.js";
