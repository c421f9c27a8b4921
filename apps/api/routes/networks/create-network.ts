import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { CreateNetworkInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks",
  tags: ["networks"],
  summary: "Create a network; its hub key pair is generated and its private key stored encrypted",
  ...access.admin,
  request: jsonBody(CreateNetworkInput),
  responses: { 201: jsonResponse(envelope(NetworkSchema), "The network"), ...problemResponses },
});

export function registerCreateNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const network = await c.var.services.networks.createNetwork(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(network), 201);
  });
}
