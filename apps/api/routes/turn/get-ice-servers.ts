import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { describePrincipal } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";
import { IceQuery, IceServersSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/turn/ice",
  tags: ["routing"],
  summary: "STUN/TURN servers (RTCIceServer entries) with time-limited TURN credentials for a node",
  description:
    "A node's own token gets credentials for itself; an admin names the node (`?nodeId=`), and the read " +
    "is audited (`node.turn-credentials-read`). TURN credentials follow coturn's REST-API scheme " +
    "(`use-auth-secret`): they expire after `TURN_TTL_SECONDS` and coturn refuses them after that. " +
    "Without `TURN_URLS`: 404 TURN_NOT_CONFIGURED.",
  ...guard("node-or-admin", { forbidden: "TURN credentials are for a node's own token or an admin" }),
  request: { query: IceQuery },
  responses: {
    200: jsonResponse(envelope(IceServersSchema), "The ICE servers"),
    ...problemResponses,
  },
});

export function registerGetIceServers(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    // The guard let through only a node or an admin.
    const principal = c.get("principal")!;
    const asker =
      principal.kind === "node"
        ? { kind: "node" as const, nodeId: principal.id }
        : { kind: "admin" as const, actor: describePrincipal(principal), requestId: c.get("requestId") };
    const { iceServers, expiresAt } = await c.var.services.turn.iceServers(
      asker,
      c.req.valid("query").nodeId,
    );
    c.header("Cache-Control", "no-store");
    return c.json(ok({ iceServers, expiresAt: expiresAt?.toISOString() ?? null }), 200);
  });
}
