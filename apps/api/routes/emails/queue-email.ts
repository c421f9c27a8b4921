import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { EmailInput } from "../../../../src/notify/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EmailSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/email/queue",
  tags: ["notify"],
  summary:
    "Queue a templated email (welcome, node-config, sync-failed, node-offline, node-quota); sent once through Resend",
  ...access.admin,
  request: jsonBody(EmailInput),
  responses: {
    202: jsonResponse(
      envelope(z.object({ email: EmailSchema, enqueued: z.boolean() })),
      "The email is queued",
    ),
    ...problemResponses,
  },
});

export function registerQueueEmail(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const result = await c.var.services.emails.queue(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(result), 202);
  });
}
