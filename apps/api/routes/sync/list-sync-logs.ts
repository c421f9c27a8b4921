import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { SYNC_TYPES } from "../../../../src/db/index.js";
import type { AppEnv } from "../../env.js";
import { jsonResponse, ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { presentRun, SyncRunSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/sync/logs",
  tags: ["sync"],
  summary: "Sync runs, newest first, with the total count",
  ...access.read,
  request: { query: PageQuery.extend({ type: z.enum(SYNC_TYPES).optional() }) },
  responses: { 200: jsonResponse(pagedEnvelope(SyncRunSchema), "A page of runs"), ...problemResponses },
});

export function registerListSyncLogs(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.sync.listRuns(q);
    return c.json(ok({ items: items.map(presentRun), total, limit: q.limit, offset: q.offset }), 200);
  });
}
