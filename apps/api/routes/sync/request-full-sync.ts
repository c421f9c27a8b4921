import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { oneLine } from "../../../../src/validation.js";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { accepted, SyncAccepted } from "./schemas.js";

export const FullSyncBody = z
  .object({
    requested_by: oneLine(100).optional(),
    skip_usage: z.boolean().optional(),
  })
  .strict();

export const route = createRoute({
  method: "post",
  path: "/api/v1/sync/full",
  tags: ["sync"],
  summary: "Start a full sync: peers, configs and usage of every network",
  ...access.admin,
  request: { body: { content: { "application/json": { schema: FullSyncBody } }, required: false } },
  responses: { 202: jsonResponse(SyncAccepted, "The run is recorded and queued"), ...problemResponses },
});

export function registerRequestFullSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json") ?? {};
    const { run, enqueued } = await c.var.services.sync.requestRun(
      { type: "full", options: body.skip_usage ? { skipUsage: true } : {}, requestedBy: body.requested_by },
      c.get("principal"),
    );
    return c.json(accepted(run, enqueued), 202);
  });
}
