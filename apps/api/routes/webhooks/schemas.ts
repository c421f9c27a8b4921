import { z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES, WEBHOOK_TYPES } from "../../../../src/db/index.js";
import { ALL_EVENTS, CustomEventName, EVENT_TYPES } from "../../../../src/events/index.js";
import { DispatchInput, WebhookInput } from "../../../../src/notify/index.js";

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

/**
 * The webhook form admin panels of sync backends send: `{ name, webhookUrl, type: "SYSTEM", scope:
 * "ADMIN" }`, without events. `toWebhookInput` maps it onto wiresync's own form.
 */
export const PanelWebhookInput = z
  .object({
    name: WebhookInput.shape.name,
    webhookUrl: WebhookInput.shape.webhookUrl,
    type: z.literal("SYSTEM").openapi({ description: "Panel form: system notifications" }),
    scope: z.literal("ADMIN").openapi({ description: "Panel form: the admins' channel" }),
    events: WebhookInput.shape.events.optional(),
    enabled: z.boolean().default(true),
  })
  .strict()
  .openapi("PanelWebhookInput");
type PanelWebhookInput = z.infer<typeof PanelWebhookInput>;

/** Either form, told apart by `type`. */
export const CreateWebhookBody = z.discriminatedUnion("type", [WebhookInput, PanelWebhookInput], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? `must be one of ${[...WEBHOOK_TYPES, "SYSTEM"].join(", ")} (SYSTEM: the panel form, see the description)`
      : undefined,
});

const DISCORD_HOSTS = new Set(["discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"]);

/**
 * The panel form as wiresync's: a Discord webhook URL (`https://discord.com/api/webhooks/…`) makes a
 * DISCORD webhook and any other URL a signed GENERIC one; scope ADMIN is `global` (every network's
 * events); no events means every event (`*`). wiresync's own form passes through unchanged.
 */
export function toWebhookInput(body: WebhookInput | PanelWebhookInput): WebhookInput {
  if (body.type !== "SYSTEM") return body;
  let host = "";
  try {
    host = new URL(body.webhookUrl).hostname;
  } catch {
    // Not a URL: GENERIC, whose URL check then refuses it with the reason.
  }
  return {
    name: body.name,
    webhookUrl: body.webhookUrl,
    type: DISCORD_HOSTS.has(host) ? "DISCORD" : "GENERIC",
    scope: "global",
    events: body.events ?? [ALL_EVENTS],
    enabled: body.enabled,
  };
}

/**
 * The dispatch body: a custom event for every webhook subscribed to it, or, with `webhookId`, a test
 * of a built-in event (`sync.completed`, …) sent to that one webhook, marked `test: true`.
 */
export const DispatchBody = z
  .object({
    event: z.string().openapi({
      description:
        "A custom event name (lowercase words joined by dots); with `webhookId`, a built-in event type to send as a test",
      example: "sync.completed",
    }),
    webhookId: z.uuid().optional().openapi({
      description:
        "Send a test of the built-in `event` to this webhook only; nothing is recorded as having happened",
    }),
    test: z
      .literal(true)
      .optional()
      .openapi({ description: "Optional: a built-in event sent here is always a test" }),
    data: DispatchInput.shape.data,
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.webhookId !== undefined) {
      if (!(EVENT_TYPES as readonly string[]).includes(body.event))
        ctx.addIssue({
          code: "custom",
          path: ["event"],
          message: `must be a built-in event type to test (${EVENT_TYPES.join(", ")})`,
        });
      return;
    }
    if (body.test) {
      ctx.addIssue({
        code: "custom",
        path: ["webhookId"],
        message: "a test goes to one webhook: name it here",
      });
      return;
    }
    const custom = CustomEventName.safeParse(body.event);
    if (!custom.success) {
      const builtIn = (EVENT_TYPES as readonly string[]).includes(body.event);
      ctx.addIssue({
        code: "custom",
        path: ["event"],
        message: builtIn
          ? `${body.event} is a wiresync event, which only wiresync emits; to send a test of it, name the webhook in webhookId`
          : (custom.error.issues[0]?.message ?? "is not a valid event name"),
      });
    }
  });
export type DispatchBody = z.infer<typeof DispatchBody>;
