import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { presentRun, SyncRunSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/sync/cancel/{id}",
  tags: ["sync"],
  summary: "Cancel a run: a waiting one at once, a running one at its next checkpoint; 409 when finished",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(SyncRunSchema), "The run after the request"), ...problemResponses },
});

export function registerCancelSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const run = await c.var.services.sync.cancelRun(c.req.valid("param").id);
    return c.json(ok(presentRun(run)), 200);
  });
}
