import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { NodeEmail } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { KeepUsageQuery } from "./delete-node.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/v1/nodes",
  tags: ["nodes"],
  summary: "Delete every node of an email, in every network",
  ...access.admin,
  request: { query: KeepUsageQuery.extend({ email: NodeEmail }) },
  responses: {
    200: jsonResponse(
      envelope(z.object({ deleted: z.number().int(), nodes: z.array(NodeSchema) })),
      "What was deleted",
    ),
    ...problemResponses,
  },
});

export function registerDeleteNodesByEmail(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const nodes = await c.var.services.nodes.deleteNodes(
      { email: q.email },
      { keepUsageHistory: q.keep_usage_history === "true" },
      { principal: c.get("principal"), requestId: c.get("requestId") },
    );
    return c.json(ok({ deleted: nodes.length, nodes }), 200);
  });
}
