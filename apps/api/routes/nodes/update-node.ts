import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { UpdateNodeInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "patch",
  path: "/api/v1/nodes/{id}",
  tags: ["nodes"],
  summary: "Change a node: name, email, key, endpoint, role, routes, tags, or disable it",
  ...access.admin,
  request: { params: IdParam, ...jsonBody(UpdateNodeInput) },
  responses: { 200: jsonResponse(envelope(NodeSchema), "The node"), ...problemResponses },
});

export function registerUpdateNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const node = await c.var.services.nodes.updateNode(c.req.valid("param").id, c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(node), 200);
  });
}
