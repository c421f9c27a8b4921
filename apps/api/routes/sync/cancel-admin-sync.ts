import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { presentRun, SyncRunSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/sync/cancel",
  tags: ["admin"],
  summary: "Cancel the newest running sync run; 404 when none runs",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(SyncRunSchema), "The run after the request"), ...problemResponses },
});

export function registerCancelAdminSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(presentRun(await c.var.services.sync.cancelNewestRunning())), 200),
  );
}
