import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { CreateWebhookBody, toWebhookInput, WebhookWithSecretSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary: "Create a webhook; its signing secret is in this response only",
  description:
    "https only; URLs that resolve to private, loopback or link-local addresses are refused (400 WEBHOOK_URL_REFUSED). " +
    "`type: GOTIFY` takes the Gotify server's URL and the application's `token` (sealed, never returned); " +
    "its messages go to `<url>/message` with the token in `X-Gotify-Key`. " +
    'Admin panels of sync backends may send their own form `{ name, webhookUrl, type: "SYSTEM", scope: "ADMIN" }`: ' +
    "a discord.com webhook URL makes a DISCORD webhook and any other URL a signed GENERIC one, scope ADMIN is `global`, " +
    "and without `events` it subscribes to every event (`*`). The answer is wiresync's webhook, as for its own form.",
  ...access.admin,
  request: jsonBody(CreateWebhookBody),
  responses: {
    201: jsonResponse(envelope(WebhookWithSecretSchema), "The webhook and its secret, shown once"),
    ...problemResponses,
  },
});

export function registerCreateWebhook(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const created = await c.var.services.webhooks.create(toWebhookInput(c.req.valid("json")), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(created), 201);
  });
}
