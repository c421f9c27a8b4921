import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { toCsv } from "../../../../src/usage/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { csvContent, csvHeaders, Top, TopQuery, wantsCsv } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}/usage/top",
  tags: ["usage"],
  summary: "The network's peers with the most traffic (received + sent) in a month, most first",
  ...access.read,
  request: { params: IdParam, query: TopQuery },
  responses: {
    200: {
      content: { "application/json": { schema: envelope(Top) }, ...csvContent },
      description: "Top talkers",
    },
    ...problemResponses,
  },
});

export function registerGetTopTalkers(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    await c.var.services.networks.getNetwork(id);
    const top = await c.var.services.usage.topTalkers({ networkId: id, month: q.month, limit: q.limit });
    if (wantsCsv(c, q.format)) {
      const columns = ["nodeId", "publicKey", "nodeName", "rxBytes", "txBytes", "totalBytes"] as const;
      return c.body(toCsv(columns, top.items, ["nodeName"]), 200, csvHeaders(`usage-top-${top.month}.csv`));
    }
    return c.json(ok(top), 200);
  });
}
