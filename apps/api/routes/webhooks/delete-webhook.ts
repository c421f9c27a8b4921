import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { WebhookSchema } from "./schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary: "Delete the webhook `?id=` and its delivery log",
  ...access.admin,
  request: { query: z.object({ id: z.uuid() }) },
  responses: { 200: jsonResponse(envelope(WebhookSchema), "The deleted webhook"), ...problemResponses },
});

export function registerDeleteWebhook(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const removed = await c.var.services.webhooks.remove(c.req.valid("query").id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(removed), 200);
  });
}
