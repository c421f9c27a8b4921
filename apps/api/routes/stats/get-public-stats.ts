import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { PublicStatsSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/stats",
  tags: ["stats"],
  summary: "Public counts: networks, and nodes by status (nothing that identifies anyone)",
  ...access.public,
  responses: { 200: jsonResponse(envelope(PublicStatsSchema), "The counts"), ...problemResponses },
});

export function registerGetPublicStats(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.stats.publicStats()), 200));
}
