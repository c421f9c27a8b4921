import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { access } from "../../middleware/access.js";

const Health = z.object({ status: z.literal("ok"), timestamp: z.string(), uptimeSeconds: z.number() });

export const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["health"],
  summary: "The API process is up",
  ...access.public,
  responses: { 200: jsonResponse(Health, "The process answers") },
});

export function registerGetHealth(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, (c) =>
    c.json(
      {
        status: "ok" as const,
        timestamp: new Date().toISOString(),
        uptimeSeconds: Math.round(process.uptime()),
      },
      200,
    ),
  );
}
