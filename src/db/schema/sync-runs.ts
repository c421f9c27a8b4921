import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const SYNC_TYPES = ["full", "peers", "configs", "usage", "drift-fix"] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

export const SYNC_STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export interface SyncRunOptions {
  skipUsage?: boolean;
  /** Restrict the run to one network. */
  networkId?: string;
  /** Remove peers the database does not know (drift fix). */
  removeUnknown?: boolean;
}

/** One line per item the run touched: what it was and what happened to it. */
export interface SyncRunItem {
  kind: string;
  id: string;
  name?: string;
  ok: boolean;
  note: string;
}

export const syncRuns = pgTable(
  "sync_runs",
  {
    id: uuid().primaryKey().defaultRandom(),
    type: text({ enum: SYNC_TYPES }).notNull(),
    status: text({ enum: SYNC_STATUSES }).notNull().default("PENDING"),
    itemsTotal: integer().notNull().default(0),
    itemsSynced: integer().notNull().default(0),
    itemsFailed: integer().notNull().default(0),
    error: text(),
    requestedBy: text(),
    jobId: text(),
    options: jsonb().$type<SyncRunOptions>().notNull().default({}),
    items: jsonb().$type<SyncRunItem[]>().notNull().default([]),
    cancelRequested: boolean().notNull().default(false),
    /** Set for scheduled runs so that several schedulers firing the same tick create one run. */
    dedupeKey: text().unique(),
    attempts: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp({ withTimezone: true }),
    completedAt: timestamp({ withTimezone: true }),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("sync_runs_created_at_idx").on(t.createdAt), index("sync_runs_status_idx").on(t.status)],
);
