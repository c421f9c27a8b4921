import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { DispatchInput } from "../../../../src/notify/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/webhook/dispatch",
  tags: ["notify"],
  summary: "Send a custom event to every enabled webhook that subscribes to it (or to `*`)",
  ...access.admin,
  request: jsonBody(DispatchInput),
  responses: {
    202: jsonResponse(
      envelope(z.object({ eventId: z.uuid(), webhooks: z.number().int() })),
      "The event is recorded; `webhooks` match it now",
    ),
    ...problemResponses,
  },
});

export function registerDispatchWebhookEvent(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const result = await c.var.services.webhooks.dispatch(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(result), 202);
  });
}
