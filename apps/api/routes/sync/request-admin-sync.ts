import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { FullSyncBody } from "./request-full-sync.js";
import { accepted, SyncAccepted } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/sync",
  tags: ["admin"],
  summary: "Start a full sync (admin form of POST /api/v1/sync/full)",
  ...access.admin,
  request: { body: { content: { "application/json": { schema: FullSyncBody } }, required: false } },
  responses: { 202: jsonResponse(SyncAccepted, "The run is recorded and queued"), ...problemResponses },
});

export function registerRequestAdminSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json") ?? {};
    const { run, enqueued } = await c.var.services.sync.requestRun(
      { type: "full", options: body.skip_usage ? { skipUsage: true } : {}, requestedBy: body.requested_by },
      c.get("principal"),
    );
    return c.json(accepted(run, enqueued), 202);
  });
}
