import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { presentRun, SyncRunSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/sync/status/{id}",
  tags: ["sync"],
  summary: "Follow a sync run: status, counters, error and what it did",
  ...access.read,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(SyncRunSchema), "The run"), ...problemResponses },
});

export function registerGetSyncStatus(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const run = await c.var.services.sync.getRun(c.req.valid("param").id);
    return c.json(ok(presentRun(run)), 200);
  });
}
