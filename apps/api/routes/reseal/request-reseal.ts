import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/admin/reseal",
  tags: ["admin"],
  summary: "Re-seal every secret at rest with the current ENCRYPTION_KEY",
  description:
    "Queues a job that re-encrypts, in batches, every secret still sealed with a key from " +
    "ENCRYPTION_KEYS_PREVIOUS. Follow it with GET /api/v1/admin/reseal (or the `reseal.progress` " +
    "events); once `remaining` is 0 the previous keys can be removed. Running it again continues " +
    "where an interrupted run stopped.",
  ...access.admin,
  responses: {
    202: jsonResponse(envelope(z.object({ jobId: z.string() })), "The job is queued"),
    ...problemResponses,
  },
});

export function registerRequestReseal(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const jobId = await c.var.services.reseal.request();
    return c.json(ok({ jobId }), 202);
  });
}
