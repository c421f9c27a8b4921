import { z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES, WEBHOOK_TYPES } from "../../../../src/db/index.js";

export const WebhookSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    type: z.enum(WEBHOOK_TYPES),
    webhookUrl: z.string().openapi({ description: "The URL with its last path segment and query masked" }),
    scope: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    consecutiveFailures: z.number().int(),
    disabledReason: z.string().nullable(),
    disabledAt: z.string().nullable(),
    lastDeliveryAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Webhook");

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().optional().openapi({
    description:
      "The HMAC signing secret; shown in this response only. Absent for GOTIFY webhooks, which send their application token (never returned)",
  }),
}).openapi("WebhookWithSecret");

export const DeliverySchema = z
  .object({
    id: z.uuid(),
    webhookId: z.uuid(),
    eventId: z.uuid(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    responseExcerpt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    history: z.array(
      z.object({
        startedAt: z.string(),
        durationMs: z.number().int(),
        statusCode: z.number().int().nullable(),
        outcome: z.string(),
        error: z.string().nullable(),
      }),
    ),
  })
  .openapi("WebhookDelivery");
