import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}",
  tags: ["networks"],
  summary: "Get a network",
  ...access.read,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(NetworkSchema), "The network"), ...problemResponses },
});

export function registerGetNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.networks.getNetwork(c.req.valid("param").id)), 200),
  );
}
