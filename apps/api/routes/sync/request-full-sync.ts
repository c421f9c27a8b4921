import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { accepted, SyncAccepted, SyncRequestBody, syncRequestOf } from "./schemas.js";

/** Full syncs take no `network_id` (they cover every network). */
export const FullSyncBody = SyncRequestBody.omit({ network_id: true });

export const route = createRoute({
  method: "post",
  path: "/api/v1/sync/full",
  tags: ["sync"],
  summary: "Start a full sync: peers, configs and usage of every network",
  description:
    "Sync-backend clients may send `skip_users`: it is accepted, changes nothing (wiresync has no users to sync), and the message says it was ignored.",
  ...access.admin,
  request: { body: { content: { "application/json": { schema: FullSyncBody } }, required: false } },
  responses: { 202: jsonResponse(SyncAccepted, "The run is recorded and queued"), ...problemResponses },
});

export function registerRequestFullSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { notes, ...request } = syncRequestOf("full", c.req.valid("json") ?? {});
    const { run, enqueued } = await c.var.services.sync.requestRun(request, c.get("principal"));
    return c.json(accepted(run, enqueued, notes), 202);
  });
}
