import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { UpdateNetworkInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema, ReissuedConfigsSchema, reissuedAnswer } from "./schemas.js";

const UpdatedNetworkSchema = NetworkSchema.extend({ reissued: ReissuedConfigsSchema.optional() }).openapi(
  "UpdatedNetwork",
);

export const route = createRoute({
  method: "patch",
  path: "/api/v1/networks/{id}",
  tags: ["networks"],
  summary: "Change a network (ranges are fixed); nodes whose config changes get a new version",
  description:
    "`defaultMonthlyQuotaBytes` is the monthly byte quota of every node of the network that sets none of its own (null: no limit). " +
    "Turning `presharedKeys` on gives every node without a preshared key one at once (their configs get a new version, the hub is synced); " +
    "with `presharedKeys` in the body, `reissued` says how each server-held node whose config changed gets its new one.",
  ...access.admin,
  request: { params: IdParam, ...jsonBody(UpdateNetworkInput) },
  responses: { 200: jsonResponse(envelope(UpdatedNetworkSchema), "The network"), ...problemResponses },
});

export function registerUpdateNetwork(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const network = await c.var.services.networks.updateNetwork(
      c.req.valid("param").id,
      c.req.valid("json"),
      {
        principal: c.get("principal"),
        requestId: c.get("requestId"),
      },
    );
    const { reissued, ...view } = network;
    if (!reissued) return c.json(ok(view), 200);
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    return c.json(ok({ ...view, reissued: reissuedAnswer(base, reissued) }), 200);
  });
}
