import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { toCsv } from "../../../../src/usage/index.js";
import type { AppEnv } from "../../env.js";
import { ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { csvContent, csvHeaders, Usage, UsageQuery, wantsCsv } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/usage",
  tags: ["usage"],
  summary: "Monthly transfer per peer, collected from the hub interfaces (JSON, or CSV)",
  ...access.read,
  request: { query: PageQuery.extend(UsageQuery.shape) },
  responses: {
    200: {
      content: { "application/json": { schema: pagedEnvelope(Usage) }, ...csvContent },
      description: "Usage rows, newest month first",
    },
    ...problemResponses,
  },
});

const COLUMNS = [
  "networkId",
  "nodeId",
  "publicKey",
  "nodeName",
  "email",
  "month",
  "rxBytes",
  "txBytes",
] as const;

export function registerListUsage(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const withAllTime = q.monthly_only === "false";
    const { items, total } = await c.var.services.usage.list({
      nodeId: q.node,
      networkId: q.network,
      publicKey: q.publicKey,
      email: q.email,
      month: q.month,
      withAllTime,
      limit: q.limit,
      offset: q.offset,
    });
    if (wantsCsv(c, q.format)) {
      const rows = items.map((r) => ({
        ...r,
        allTimeRxBytes: r.allTime?.rxBytes,
        allTimeTxBytes: r.allTime?.txBytes,
      }));
      const columns = withAllTime ? ([...COLUMNS, "allTimeRxBytes", "allTimeTxBytes"] as const) : COLUMNS;
      return c.body(
        toCsv([...columns, "updatedAt"], rows, ["nodeName", "email"]),
        200,
        csvHeaders("usage.csv"),
      );
    }
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
