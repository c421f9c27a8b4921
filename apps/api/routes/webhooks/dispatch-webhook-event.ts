import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { EventType } from "../../../../src/events/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { DispatchBody } from "./schemas.js";
import { TestResultSchema } from "./test-webhook.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/webhook/dispatch",
  tags: ["notify"],
  summary:
    "Send a custom event to every enabled webhook that subscribes to it (or to `*`), or a test of a built-in event to one webhook",
  description:
    "With `webhookId`, `event` is a built-in type (e.g. `sync.completed`) sent at once to that webhook as a test: the receiver gets the type with `data` plus `test: true`, the delivery log lists it as `webhook.test`, and no event is recorded as having happened. The answer is then 200 with the receiver's answer.",
  ...access.admin,
  request: jsonBody(DispatchBody),
  responses: {
    200: jsonResponse(
      envelope(TestResultSchema.extend({ test: z.literal(true), event: z.string(), webhookId: z.uuid() })),
      "The test was sent to the webhook; its answer",
    ),
    202: jsonResponse(
      envelope(z.object({ eventId: z.uuid(), webhooks: z.number().int() })),
      "The event is recorded; `webhooks` match it now",
    ),
    ...problemResponses,
  },
});

export function registerDispatchWebhookEvent(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { event, data, webhookId } = c.req.valid("json");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    if (webhookId !== undefined) {
      // DispatchBody admits only built-in event types with a webhookId.
      const sample = { event: event as EventType, data };
      const result = await c.var.services.webhooks.test(webhookId, ctx, sample);
      return c.json(ok({ ...result, test: true as const, event, webhookId }), 200);
    }
    return c.json(ok(await c.var.services.webhooks.dispatch({ event, data }, ctx)), 202);
  });
}
