import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * The outbox: one row per domain event, written in the transaction of the change that caused it. The
 * relay fans each row out to `webhook_deliveries` and `emails` and sets `relayed_at`; nothing else
 * reads it on a hot path. `data` never holds a key, token or secret (see src/events).
 */
export const events = pgTable(
  "events",
  {
    id: uuid().primaryKey().defaultRandom(),
    type: text().notNull(),
    data: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Who or what caused it: `system`, `api-key:<id>`, `user:<id>`. */
    source: text().notNull().default("system"),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    relayedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index("events_unrelayed_idx").on(t.createdAt).where(sql`${t.relayedAt} is null`),
    index("events_type_created_at_idx").on(t.type, t.createdAt),
  ],
);
