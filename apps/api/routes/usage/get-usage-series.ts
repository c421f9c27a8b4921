import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { toCsv } from "../../../../src/usage/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { csvContent, csvHeaders, Series, SeriesQuery, wantsCsv } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/usage/series",
  tags: ["usage"],
  summary:
    "A node's or a network's traffic over time: hourly points for the last hours, monthly totals beyond",
  description: "CSV (`?format=csv` or `Accept: text/csv`) holds the hourly points: `hour,rxBytes,txBytes`.",
  ...access.read,
  request: { query: SeriesQuery },
  responses: {
    200: {
      content: { "application/json": { schema: envelope(Series) }, ...csvContent },
      description: "Hourly points and monthly totals",
    },
    ...problemResponses,
  },
});

export function registerGetUsageSeries(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    // The query's refine lets through exactly one of nodeId and networkId.
    const target = q.nodeId ? { nodeId: q.nodeId } : { networkId: q.networkId as string };
    const series = await c.var.services.usage.series({ ...target, hours: q.hours });
    if (wantsCsv(c, q.format)) {
      return c.body(
        toCsv(["hour", "rxBytes", "txBytes"], series.hourly),
        200,
        csvHeaders("usage-hourly.csv"),
      );
    }
    return c.json(ok(series), 200);
  });
}
