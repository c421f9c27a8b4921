/**
 * Webhooks and deliveries as the API shows them: the URL masked, never the secret; each delivery with
 * its attempt history. Pure mappers from rows.
 */
import type { DeliveryStatus, WebhookType } from "../db/index.js";
import type { AttemptRow, DeliveryRow, WebhookRow } from "./notify.repo.js";

const EXCERPT_CHARS = 500;

/** A webhook as the API shows it: the URL masked, never the secret. */
export interface PublicWebhook {
  id: string;
  name: string;
  type: WebhookType;
  webhookUrl: string;
  scope: string;
  events: string[];
  enabled: boolean;
  consecutiveFailures: number;
  disabledReason: string | null;
  disabledAt: Date | null;
  lastDeliveryAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  responseExcerpt: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  history: {
    startedAt: Date;
    durationMs: number;
    statusCode: number | null;
    outcome: string;
    error: string | null;
  }[];
}

export interface TestResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  /** The first 500 characters of the receiver's answer. */
  body: string | null;
  error: string | null;
}

export const toPublic = (w: WebhookRow): PublicWebhook => ({
  id: w.id,
  name: w.name,
  type: w.type,
  webhookUrl: w.urlDisplay,
  scope: w.scope,
  events: w.events,
  enabled: w.enabled,
  consecutiveFailures: w.consecutiveFailures,
  disabledReason: w.disabledReason,
  disabledAt: w.disabledAt,
  lastDeliveryAt: w.lastDeliveryAt,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

export const toHistory = (a: AttemptRow): DeliveryView["history"][number] => ({
  startedAt: a.startedAt,
  durationMs: a.durationMs,
  statusCode: a.statusCode,
  outcome: a.outcome,
  error: a.error,
});

/** The first 500 characters of a receiver's answer. */
export const excerpt = (body: string) =>
  body.length > EXCERPT_CHARS ? `${body.slice(0, EXCERPT_CHARS)}…` : body;

/** A delivery's own fields as the API shows them (without its event type and history). */
export function deliveryFields(d: DeliveryRow) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    responseExcerpt: d.responseExcerpt,
    nextAttemptAt: d.nextAttemptAt,
    deliveredAt: d.deliveredAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
