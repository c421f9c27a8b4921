import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { RoutingRequestInput } from "../../../../src/routing/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";
import { RoutingAnswerSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/routing/request",
  tags: ["routing"],
  summary:
    "The relays that can serve a node, ranked with a score and a reason (a node's own token, or an admin)",
  description:
    "Relays are the nodes of the client's network with role `relay` that are online. Each is scored out of " +
    "100 from its last heartbeat and registration: latency (35), free connection slots (25), free bandwidth " +
    "(20), its NAT type (10) and the client's region (10); `reason` and `breakdown` say how. Relays that " +
    "cannot serve the client (latency above `maxLatency` ms, free bandwidth below `minBandwidth` Mbps, full, " +
    "or NAT types with no UDP path between them) are listed in `rejected` with why. None online: 404 " +
    "NO_RELAY_AVAILABLE; none fits: 409 NO_RELAY_FITS with each one's reason in `details.rejected`. The " +
    "same request over the same nodes gets the same answer.",
  ...guard("node-or-admin", { forbidden: "routing requests come from a node's own token or an admin" }),
  request: jsonBody(RoutingRequestInput),
  responses: {
    200: jsonResponse(envelope(RoutingAnswerSchema), "The relays, best first"),
    ...problemResponses,
  },
});

export function registerRequestRoute(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    const asker = { nodeId: principal?.kind === "node" ? principal.id : undefined };
    const answer = await c.var.services.routing.requestRoute(c.req.valid("json"), asker);
    return c.json(ok(answer), 200);
  });
}
