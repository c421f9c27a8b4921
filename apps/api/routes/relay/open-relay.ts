import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { problem, problemContent, problemResponses } from "../../http/problem.js";
import { admitUpgrade } from "../../http/upgrade.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/relay",
  tags: ["nodes"],
  summary: "The WebSocket relay for a node's WireGuard datagrams (send it as a WebSocket upgrade)",
  description: [
    "Opened by an agent as a WebSocket (`Upgrade: websocket`) with its node token, when a mesh peer",
    "cannot be reached directly. Binary messages are one WireGuard UDP datagram (at most 65,535 bytes)",
    "behind 32 bytes: from the node, the public key of the peer it is for; to the node, the key of the",
    "peer it comes from, stamped by the relay. Datagrams go only to connected nodes of the sender's own",
    "mesh network and are dropped when the receiver is behind. On connect, and after the node sends the",
    'text message `{"type":"peers?"}`, the relay sends `{"type":"peers","publicKeys":[…]}`: the keys it',
    "may send to. One connection per node: a newer one closes the older (close code 4000). Without an",
    "upgrade the answer is 426.",
  ].join(" "),
  ...access.node,
  responses: {
    204: {
      description: "Never seen by a client: the upgrade is admitted and answered 101 Switching Protocols",
    },
    426: { content: problemContent, description: "A plain request: this path takes only WebSocket upgrades" },
    ...problemResponses,
  },
});

export function registerOpenRelay(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, (c) => {
    // Only the server's upgrade hook can admit a request (see apps/api/relay.ts): a header cannot.
    if (admitUpgrade(c.req.raw, c.get("principal")!.id)) return c.body(null, 204);
    return problem(
      c,
      426,
      "UPGRADE_REQUIRED",
      "open /api/v1/relay as a WebSocket (Connection: Upgrade, Upgrade: websocket)",
    );
  });
}
