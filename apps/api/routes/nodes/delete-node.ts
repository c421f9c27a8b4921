import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const KeepUsageQuery = z.object({
  keep_usage_history: z
    .enum(["true", "false"])
    .default("true")
    .openapi({ description: "Keep the node's monthly usage rows" }),
});

export const route = createRoute({
  method: "delete",
  path: "/api/v1/nodes/{id}",
  tags: ["nodes"],
  summary: "Delete a node; its peer leaves the hub at the next sync",
  ...access.admin,
  request: { params: IdParam, query: KeepUsageQuery },
  responses: { 200: jsonResponse(envelope(NodeSchema), "The deleted node"), ...problemResponses },
});

export function registerDeleteNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const [node] = await c.var.services.nodes.deleteNodes(
      { id: c.req.valid("param").id },
      { keepUsageHistory: c.req.valid("query").keep_usage_history === "true" },
      { principal: c.get("principal"), requestId: c.get("requestId") },
    );
    return c.json(ok(node!), 200);
  });
}
