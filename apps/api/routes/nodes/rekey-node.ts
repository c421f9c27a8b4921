import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/rekey",
  tags: ["nodes"],
  summary:
    "Give a node whose private key the server holds a new key pair; the old key stops working at the next sync. Answers the fresh config (with the new private key: admins only, audited); 409 for a node that holds its own key",
  ...access.admin,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(
      envelope(
        z.object({
          node: NodeSchema,
          config: z.string().openapi({ description: "The node's new wg-quick config" }),
          filename: z.string(),
        }),
      ),
      "The node and its new config",
    ),
    ...problemResponses,
  },
});

export function registerRekeyNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    const node = await c.var.services.nodes.rekeyNode(id, ctx);
    const config = await c.var.services.configs.renderConfig(id, ctx);
    c.header("Cache-Control", "no-store");
    return c.json(ok({ node, config: config.text, filename: config.filename }), 200);
  });
}
