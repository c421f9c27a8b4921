import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["health"],
  summary: "Prometheus metrics of this process",
  ...access.metrics,
  responses: {
    200: { content: { "text/plain": { schema: z.string() } }, description: "Prometheus text format" },
  },
});

export function registerGetMetrics(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { registry } = c.var.metrics;
    return c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType });
  });
}
