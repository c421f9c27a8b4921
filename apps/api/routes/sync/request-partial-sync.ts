import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { accepted, SyncAccepted, SyncRequestBody, syncRequestOf } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/sync/{type}",
  tags: ["sync"],
  summary: "Start a partial sync: only peers, only configs or only usage (optionally of one network)",
  ...access.admin,
  request: {
    params: z.object({
      type: z.enum(["peers", "configs", "usage"]).openapi({ param: { name: "type", in: "path" } }),
    }),
    body: { content: { "application/json": { schema: SyncRequestBody } }, required: false },
  },
  responses: { 202: jsonResponse(SyncAccepted, "The run is recorded and queued"), ...problemResponses },
});

export function registerRequestPartialSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { type } = c.req.valid("param");
    const { notes, ...request } = syncRequestOf(type, c.req.valid("json") ?? {});
    const { run, enqueued } = await c.var.services.sync.requestRun(request, c.get("principal"));
    return c.json(accepted(run, enqueued, notes), 202);
  });
}
