/**
 * Stats: counts of the fleet for the public, for readers and for admins, and the sources the
 * Prometheus fleet and queue gauges read on scrape. Everything here is an aggregate (GROUP BY, count,
 * sum) or BullMQ's own counts: it never loads node rows, and it never changes anything. The public view
 * must never carry a name, id, key or address.
 */
export type { QueueDepth, QueueJobState } from "./queue-depths.js";
export { QUEUE_JOB_STATES, readQueueDepths } from "./queue-depths.js";
export * from "./stats.service.js";
