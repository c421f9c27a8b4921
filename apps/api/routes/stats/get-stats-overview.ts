import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { OverviewStatsSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/stats/overview",
  tags: ["stats"],
  summary: "Nodes by status and network, networks, this month's traffic, today's syncs, failed deliveries",
  ...access.read,
  responses: { 200: jsonResponse(envelope(OverviewStatsSchema), "The overview"), ...problemResponses },
});

export function registerGetStatsOverview(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.stats.overview()), 200));
}
