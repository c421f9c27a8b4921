import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { CreateNodeInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

const Created = z.object({
  node: NodeSchema,
  token: z.string().openapi({ description: "The node's agent token; shown once" }),
  config: z
    .string()
    .optional()
    .openapi({ description: "The full wg-quick config when the server made the key pair; shown once" }),
});

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes",
  tags: ["nodes"],
  summary: "Enroll a node: allocates its addresses; without publicKey the server generates the key pair",
  ...access.admin,
  request: jsonBody(CreateNodeInput),
  responses: {
    201: jsonResponse(envelope(Created), "The node, its token and (server keys) its config"),
    ...problemResponses,
  },
});

export function registerCreateNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const created = await c.var.services.enrollment.createNode(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(created), 201);
  });
}
