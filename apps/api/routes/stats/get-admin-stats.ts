import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { AdminStatsSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/stats",
  tags: ["admin"],
  summary: "The overview plus queue depths and oldest waiting job per queue, workers, drift and retention",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(AdminStatsSchema), "The admin stats"), ...problemResponses },
});

export function registerGetAdminStats(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.stats.adminStats()), 200));
}
