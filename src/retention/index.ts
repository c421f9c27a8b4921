/**
 * Retention: finished history (relayed events with their webhook deliveries, sync runs, sent emails)
 * leaves the database after `RETENTION_DAYS`; the scheduler prunes it every hour.
 */
export * from "./retention.service.js";
