import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/nodes/{id}",
  tags: ["nodes"],
  summary: "Get a node",
  ...access.read,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(NodeSchema), "The node"), ...problemResponses },
});

export function registerGetNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.nodes.getNode(c.req.valid("param").id)), 200),
  );
}
