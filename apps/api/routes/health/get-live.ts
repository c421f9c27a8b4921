import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["health"],
  summary: "Liveness: the event loop runs (checks no dependency)",
  ...access.public,
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "Alive") },
});

export function registerGetLive(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, (c) => c.json({ status: "ok" as const }, 200));
}
