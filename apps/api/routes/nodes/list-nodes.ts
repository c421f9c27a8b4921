import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { NodeListQuery } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { jsonResponse, ok, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/nodes",
  tags: ["nodes"],
  summary: "List nodes, newest first; filter by network, status, email or a search term",
  ...access.read,
  request: { query: NodeListQuery },
  responses: { 200: jsonResponse(pagedEnvelope(NodeSchema), "A page of nodes"), ...problemResponses },
});

export function registerListNodes(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.nodes.listNodes(q);
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
