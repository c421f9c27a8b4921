import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { events } from "./events.js";

export const EMAIL_TEMPLATES = [
  "welcome",
  "node-config",
  "sync-failed",
  "node-offline",
  "node-quota",
  "hub-takeover",
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

export const EMAIL_STATUSES = ["queued", "sent", "skipped", "failed"] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/**
 * Emails: the outbox and the log in one table. A row is written in the transaction that wants the
 * email (or by the relay for an event), and its id is the Resend `Idempotency-Key`, so a retried send
 * never reaches a recipient twice. `data` holds template inputs (ids and public fields only); a
 * node-config email's attachment is rendered at send time and never stored.
 */
export const emails = pgTable(
  "emails",
  {
    id: uuid().primaryKey().defaultRandom(),
    to: text().notNull(),
    template: text({ enum: EMAIL_TEMPLATES }).notNull(),
    subject: text(),
    data: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    status: text({ enum: EMAIL_STATUSES }).notNull().default("queued"),
    providerId: text(),
    attempts: integer().notNull().default(0),
    error: text(),
    /** The event this email was made for; unique with template and recipient so a re-relay adds none. */
    eventId: uuid().references(() => events.id, { onDelete: "set null" }),
    requestedBy: text(),
    nextAttemptAt: timestamp({ withTimezone: true }),
    leasedUntil: timestamp({ withTimezone: true }),
    sentAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("emails_event_template_to_key").on(t.eventId, t.template, t.to),
    index("emails_queued_idx").on(t.updatedAt).where(sql`${t.status} = 'queued'`),
    index("emails_created_at_idx").on(t.createdAt),
  ],
);
