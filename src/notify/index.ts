/**
 * Notifications: the relay that moves outbox events to webhook deliveries and emails, the webhook
 * service (Discord embeds, signed generic JSON, Gotify messages, SSRF-safe HTTP, retries, disabling), the email
 * service (templates, Resend with the outbox id as idempotency key) and their pure cores. It owns
 * when and how something is sent; it must never send without a row in Postgres recording it, and
 * never log, store in clear or return a webhook secret, Gotify token, URL token or API key (the
 * create response is the one exception, for the signing secret).
 */
export * from "./addresses.js";
export * from "./discord.js";
export * from "./email.service.js";
export * from "./fan-out.js";
export * from "./gotify.js";
export * from "./mailer.js";
export type { AttemptRow, DeliveryRow, EmailRow, EventRow, WebhookRow } from "./notify.repo.js";
export * from "./notify.schema.js";
export * from "./relay.js";
export * from "./safe-http.js";
export * from "./signature.js";
export * from "./templates.js";
export * from "./triggers.js";
export * from "./webhook.service.js";
export * from "./webhook-attempt.js";
export type { DeliveryView, PublicWebhook, TestResult } from "./webhook-views.js";
