import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { RECENT_HANDSHAKE_SECONDS } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const Status = z.enum(["recent", "stale", "never"]);

const Reachability = z
  .object({
    networkId: z.uuid(),
    checkedAt: z.string(),
    recentSeconds: z
      .number()
      .int()
      .openapi({ description: "How old a handshake may be and count as recent" }),
    nodes: z.array(
      z.object({
        id: z.uuid(),
        name: z.string(),
        status: z.string(),
        lastSeenAt: z.string().nullable(),
        hubHandshakeAt: z.string().nullable(),
        reach: Status.openapi({ description: "The best status among the node's pairs" }),
        recentPairs: z.number().int(),
        pairs: z.number().int(),
      }),
    ),
    lagging: z
      .array(
        z.object({
          id: z.uuid(),
          name: z.string(),
          configVersion: z.number().int(),
          appliedConfigVersion: z.number().int(),
        }),
      )
      .openapi({ description: "Nodes whose agent runs an older config version than the current one" }),
    pairs: z.array(
      z.object({
        a: z.string().openapi({ description: "A node id, or `hub`" }),
        b: z.string().openapi({ description: "A node id" }),
        lastHandshakeAt: z.string().nullable(),
        status: Status,
      }),
    ),
  })
  .openapi("Reachability");

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}/reachability",
  tags: ["networks"],
  summary: "Which pairs of the network shook hands recently",
  description:
    "Every pair the network's configs set up: each active node with the hub, and in a mesh each two " +
    "active nodes. A pair is `recent` when its latest handshake is at most " +
    `${RECENT_HANDSHAKE_SECONDS} seconds old (WireGuard renews handshakes every 2 minutes while ` +
    "packets flow), `stale` when older, `never` when none is known. Handshakes with the hub are read " +
    "from the hub's interface at usage collection; handshakes between mesh nodes are what their " +
    "agents report with heartbeats (the newer of the two reports counts).",
  ...access.read,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(Reachability), "The pairs and their handshakes"),
    ...problemResponses,
  },
});

export function registerGetReachability(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.liveness.reachability(c.req.valid("param").id)), 200),
  );
}
