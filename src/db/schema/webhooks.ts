import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { events } from "./events.js";

export const WEBHOOK_TYPES = ["DISCORD", "GENERIC", "GOTIFY"] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

export const DELIVERY_STATUSES = ["pending", "delivered", "failed", "cancelled"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * Where events go. The URL (a Discord URL carries its token) and the signing secret (a Gotify
 * webhook's application token) are AES-256-GCM envelopes bound to the row id; `url_display` is the
 * masked form shown in lists and logs.
 */
export const webhooks = pgTable("webhooks", {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull().unique("webhooks_name_key"),
  type: text({ enum: WEBHOOK_TYPES }).notNull(),
  urlEnc: text().notNull(),
  urlDisplay: text().notNull(),
  /** `global`, or `network:<uuid>` for events of one network only. */
  scope: text().notNull().default("global"),
  /** Event types delivered here; `*` means every event. */
  events: text().array().notNull().default([]),
  enabled: boolean().notNull().default(true),
  secretEnc: text().notNull(),
  consecutiveFailures: integer().notNull().default(0),
  disabledReason: text(),
  disabledAt: timestamp({ withTimezone: true }),
  lastDeliveryAt: timestamp({ withTimezone: true }),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/**
 * One event to one webhook. Unique per (webhook, event), so fanning an event out twice creates
 * nothing new. `attempts` counts the attempts of the current cycle (a replay starts a new one);
 * `leased_until` keeps two workers from sending the same delivery at once.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid().primaryKey().defaultRandom(),
    webhookId: uuid()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    eventId: uuid()
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    status: text({ enum: DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer().notNull().default(0),
    lastStatusCode: integer(),
    lastError: text(),
    responseExcerpt: text(),
    nextAttemptAt: timestamp({ withTimezone: true }),
    leasedUntil: timestamp({ withTimezone: true }),
    deliveredAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("webhook_deliveries_webhook_event_key").on(t.webhookId, t.eventId),
    index("webhook_deliveries_pending_idx").on(t.updatedAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_webhook_created_idx").on(t.webhookId, t.createdAt),
  ],
);

/** Every HTTP attempt of a delivery, kept for the deliveries view. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    deliveryId: uuid()
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    durationMs: integer().notNull(),
    statusCode: integer(),
    /** `delivered`, `retry`, `failed`, `rate-limited`, `refused`. */
    outcome: text().notNull(),
    error: text(),
    responseExcerpt: text(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);
