import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema } from "./schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/v1/networks/{id}",
  tags: ["networks"],
  summary: "Delete a network; one with nodes needs ?force=true (its nodes go too)",
  ...access.admin,
  request: { params: IdParam, query: z.object({ force: z.enum(["true", "false"]).default("false") }) },
  responses: { 200: jsonResponse(envelope(NetworkSchema), "The deleted network"), ...problemResponses },
});

export function registerDeleteNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const network = await c.var.services.networks.deleteNetwork(
      c.req.valid("param").id,
      c.req.valid("query").force === "true",
      {
        principal: c.get("principal"),
        requestId: c.get("requestId"),
      },
    );
    return c.json(ok(network), 200);
  });
}
