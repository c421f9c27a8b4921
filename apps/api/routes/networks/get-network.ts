import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { isAdmin } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkHubSchema, NetworkSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}",
  tags: ["networks"],
  summary: "Get a network (and, for an admin, which hub host serves it)",
  ...access.read,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(NetworkSchema.extend({ hub: NetworkHubSchema.optional() })), "The network"),
    ...problemResponses,
  },
});

export function registerGetNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const { networks, hubs } = c.var.services;
    const network = await networks.getNetwork(id);
    if (!isAdmin(c.get("principal"))) return c.json(ok(network), 200);
    const hub = await hubs.networkHub(id);
    return c.json(
      ok({ ...network, hub: { state: hub?.state ?? "unassigned", holder: hub?.hubId ?? null } }),
      200,
    );
  });
}
