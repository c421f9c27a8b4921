import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { IdParam, jsonResponse } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { accepted, SyncAccepted } from "../sync/schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks/{id}/drift/fix",
  tags: ["networks"],
  summary: "Repair drift: a sync of the network that also removes peers the database does not know",
  ...access.admin,
  request: { params: IdParam },
  responses: {
    202: jsonResponse(SyncAccepted, "The drift-fix run is recorded and queued"),
    ...problemResponses,
  },
});

export function registerFixDrift(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { run, enqueued } = await c.var.services.drift.fix(c.req.valid("param").id, c.get("principal"));
    return c.json(accepted(run, enqueued), 202);
  });
}
