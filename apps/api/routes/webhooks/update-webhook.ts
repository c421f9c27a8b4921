import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { WebhookUpdate } from "../../../../src/notify/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { WebhookSchema, WebhookWithSecretSchema } from "./schemas.js";

export const route = createRoute({
  method: "put",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary:
    "Change a webhook named by `id`; `enabled: true` re-enables it, `rotateSecret` issues a new secret",
  ...access.admin,
  request: jsonBody(WebhookUpdate),
  responses: {
    200: jsonResponse(
      envelope(WebhookSchema.or(WebhookWithSecretSchema)),
      "The webhook (with `secret` only when rotated)",
    ),
    ...problemResponses,
  },
});

export function registerUpdateWebhook(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const updated = await c.var.services.webhooks.update(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(updated), 200);
  });
}
