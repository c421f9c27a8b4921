/**
 * The notification tables' row types, and all their queries as one namespace (`import * as repo`):
 * webhooks (`webhooks.repo.ts`), the event outbox (`events.repo.ts`), deliveries and attempts
 * (`deliveries.repo.ts`) and emails (`emails.repo.ts`).
 */
import type { emails, events, webhookAttempts, webhookDeliveries, webhooks } from "../db/index.js";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type EmailRow = typeof emails.$inferSelect;

export * from "./deliveries.repo.js";
export * from "./emails.repo.js";
export * from "./events.repo.js";
export * from "./webhooks.repo.js";
