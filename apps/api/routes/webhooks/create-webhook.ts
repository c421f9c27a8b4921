import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { WebhookInput } from "../../../../src/notify/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { WebhookWithSecretSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary: "Create a webhook; its signing secret is in this response only",
  description:
    "https only; URLs that resolve to private, loopback or link-local addresses are refused (400 WEBHOOK_URL_REFUSED). " +
    "`type: GOTIFY` takes the Gotify server's URL and the application's `token` (sealed, never returned); " +
    "its messages go to `<url>/message` with the token in `X-Gotify-Key`.",
  ...access.admin,
  request: jsonBody(WebhookInput),
  responses: {
    201: jsonResponse(envelope(WebhookWithSecretSchema), "The webhook and its secret, shown once"),
    ...problemResponses,
  },
});

export function registerCreateWebhook(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const created = await c.var.services.webhooks.create(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(created), 201);
  });
}
