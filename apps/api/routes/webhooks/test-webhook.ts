import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

export const TestResultSchema = z
  .object({
    ok: z.boolean(),
    statusCode: z.number().int().nullable(),
    durationMs: z.number().int(),
    body: z.string().nullable().openapi({ description: "The first 500 characters of the answer" }),
    error: z.string().nullable(),
  })
  .openapi("WebhookTestResult");

export const route = createRoute({
  method: "patch",
  path: "/api/admin/settings/webhooks",
  tags: ["admin"],
  summary: "Send a test event to the webhook `id` now and return the receiver's answer",
  ...access.admin,
  request: jsonBody(z.object({ id: z.uuid() }).strict()),
  responses: { 200: jsonResponse(envelope(TestResultSchema), "The receiver's answer"), ...problemResponses },
});

export function registerTestWebhook(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const result = await c.var.services.webhooks.test(c.req.valid("json").id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(result), 200);
  });
}
