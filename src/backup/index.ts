/**
 * Secrets at rest over time, and the installation as a whole: re-sealing every envelope under the
 * current `ENCRYPTION_KEY` (so a previous key can be retired), the start-up check that every key an
 * envelope names is configured, and the logical backup and restore of every table wiresync owns.
 * Never opens a secret except to re-seal it, and never writes one anywhere but back to its row:
 * backups carry envelopes as they are.
 */

export * from "./backup.js";
export * from "./reseal.service.js";
export type { SealedColumn } from "./sealed-columns.js";
export { columnName, SEALED_COLUMNS } from "./sealed-columns.js";
