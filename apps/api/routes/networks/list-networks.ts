import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks",
  tags: ["networks"],
  summary: "List networks with their node counts",
  ...access.read,
  responses: { 200: jsonResponse(envelope(z.array(NetworkSchema)), "Every network"), ...problemResponses },
});

export function registerListNetworks(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.networks.listNetworks()), 200));
}
