import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { accepted, REQUESTABLE_SYNC_TYPES, SyncAccepted, SyncRequestBody, syncRequestOf } from "./schemas.js";

const AdminSyncBody = SyncRequestBody.extend({
  type: z
    .enum(REQUESTABLE_SYNC_TYPES)
    .default("full")
    .openapi({ description: "What to sync, as `POST /api/v1/sync/{type}`; `full` when left out" }),
}).strict();

export const route = createRoute({
  method: "post",
  path: "/api/admin/sync",
  tags: ["admin"],
  summary: "Start a sync of `type` (admin form of POST /api/v1/sync/full and /api/v1/sync/{type})",
  description:
    'Admin panels of sync backends post `{ "type": "full" }` here. Options that do not apply to the type (and `skip_users`) are ignored, and the message names each.',
  ...access.admin,
  request: { body: { content: { "application/json": { schema: AdminSyncBody } }, required: false } },
  responses: { 202: jsonResponse(SyncAccepted, "The run is recorded and queued"), ...problemResponses },
});

export function registerRequestAdminSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { type = "full", ...body } = c.req.valid("json") ?? {};
    const { notes, ...request } = syncRequestOf(type, body);
    const { run, enqueued } = await c.var.services.sync.requestRun(request, c.get("principal"));
    return c.json(accepted(run, enqueued, notes), 202);
  });
}
