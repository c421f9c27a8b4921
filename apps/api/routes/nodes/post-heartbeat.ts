import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { HeartbeatInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/heartbeat",
  tags: ["agent"],
  summary: "A node reports in with its metrics (node token only); answers the config version to run",
  description:
    "Agents also report where they can be reached (`candidates`: listen port and host addresses) and " +
    "their latest handshake with each mesh peer (`handshakes`); the server adds the address it saw the " +
    "heartbeat come from. All optional: agents that send neither still work. Metrics may use the names " +
    "decentralised-VPN nodes send (`latency`, `cpuUsage`, `memoryUsage`, `activeConnections`; the " +
    "agent's version as `version`); they are stored under the canonical ones (`latencyMs`, `cpu`, " +
    "`memory`, `connections`, `agentVersion`).",
  // Every agent beats every few seconds: the statement that stores a beat checks its token too.
  ...guard(
    "node-self",
    { forbidden: "heartbeats come from the node's own token" },
    { checksNodeToken: true },
  ),
  request: { params: IdParam, ...jsonBody(HeartbeatInput) },
  responses: {
    200: jsonResponse(
      envelope(
        z.object({
          configVersion: z.number().int(),
          status: z.string(),
          serverTime: z.string(),
          rotateKey: z.boolean().openapi({
            description:
              "An operator asked for a key rotation: make a new key pair and send it to POST /api/v1/nodes/{id}/key",
          }),
        }),
      ),
      "Recorded",
    ),
    ...problemResponses,
  },
});

export function registerPostHeartbeat(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    // The server-reflexive candidate: the socket's peer, or a trusted proxy's forwarded address.
    const observed = { remoteAddress: c.var.client.address };
    const beat = c.req.valid("json");
    const claim = c.get("nodeClaim");
    const { node, path } = await c.var.services.liveness.heartbeat(id, beat, observed, claim);
    if (claim) c.set("principal", { kind: "node", id: node.id, networkId: node.networkId, scopes: [] });
    c.var.metrics.heartbeats.inc({ path });
    if (beat.metrics.latencyMs !== undefined)
      c.var.metrics.nodeLatency.observe(beat.metrics.latencyMs / 1_000);
    return c.json(
      ok({
        configVersion: node.configVersion,
        status: node.status,
        serverTime: new Date().toISOString(),
        rotateKey: node.keyRotationRequestedAt !== null,
      }),
      200,
    );
  });
}
