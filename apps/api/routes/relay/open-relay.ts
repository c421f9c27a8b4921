import { upgradeWebSocket } from "@hono/node-server";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { WebSocket } from "ws";
import type { RelayHub } from "../../../../src/relay/index.js";
import type { AppEnv } from "../../env.js";
import { problem, problemContent, problemResponses } from "../../http/problem.js";
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
    'text message `{"type":"peers?"}`, the relay sends `{"type":"peers","publicKeys":[…],"natTypes":{…},',
    '"ownNatType":…}`: the keys it may send to, the canonical NAT type of each of those that has one',
    "(`natTypes`, key → type) and the node's own (`ownNatType`, absent when unknown); an agent relays a",
    "pair that cannot punch through (both symmetric, …) without trying directly first. One connection per node: a newer one closes the older (close code 4000). Without an",
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

/** The server's relay sessions, bound by `listen` (apps/api/server.ts) when it serves the relay. */
type RelayBindings = { relayHub?: RelayHub } | undefined;

export function registerOpenRelay(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      return problem(
        c,
        426,
        "UPGRADE_REQUIRED",
        "open /api/v1/relay as a WebSocket (Connection: Upgrade, Upgrade: websocket)",
      );
    const hub = (c.env as RelayBindings)?.relayHub;
    if (!hub) return problem(c, 503, "RELAY_UNAVAILABLE", "this API process serves no relay");
    const identity = await hub.identify(c.get("principal")!.id);
    if (!identity || identity.disabled)
      return problem(c, 403, "FORBIDDEN", "a disabled node may not use the relay");
    const upgrade = upgradeWebSocket(() => ({
      // The hub reads and writes the socket itself: datagrams stay Buffers, never events.
      onOpen: (_event, ws) => hub.attach(identity, ws.raw as WebSocket),
    }));
    // Foot-gun: the helper is typed for a plain Hono context; this route's is the same object.
    const answer = await upgrade(c as unknown as Parameters<typeof upgrade>[0], async () => {});
    return answer ?? problem(c, 426, "UPGRADE_REQUIRED", "the WebSocket upgrade was not completed");
  });
}
