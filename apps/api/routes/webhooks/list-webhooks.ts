import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { WebhookSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary: "List webhooks (URLs masked, never the secrets)",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(z.array(WebhookSchema)), "Every webhook"), ...problemResponses },
});

export function registerListWebhooks(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.webhooks.list()), 200));
}
