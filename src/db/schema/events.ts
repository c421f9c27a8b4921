import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  jsonb,
  pgSequence,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * Numbers events for the live stream in the order they are sequenced (see src/events/stream.repo.ts):
 * taken only under one advisory lock, so a reader always sees a gap-free prefix of sequenced events.
 */
export const eventsSeq = pgSequence("events_seq");

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
    /**
     * Position in the live event stream (`Last-Event-ID`), set after commit by the stream sequencer;
     * null until then. Increasing in the order events become visible to streams.
     */
    seq: bigint({ mode: "number" }),
  },
  (t) => [
    index("events_unrelayed_idx").on(t.createdAt).where(sql`${t.relayedAt} is null`),
    index("events_type_created_at_idx").on(t.type, t.createdAt),
    uniqueIndex("events_seq_idx").on(t.seq),
    index("events_unsequenced_idx").on(t.createdAt).where(sql`${t.seq} is null`),
  ],
);
