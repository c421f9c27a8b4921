import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkSchema, NodeSchema } from "./schemas.js";

export const RekeyResultSchema = z
  .object({
    mode: z.enum(["agent", "server"]).openapi({
      description:
        "`agent`: the node's agent rotates its key at its next heartbeat; `server`: the server made a new key pair",
    }),
    node: NodeSchema,
    emailQueuedTo: z.string().optional().openapi({
      description: "`server` mode: the new config was queued by email to this address",
    }),
    configLink: ConfigLinkSchema.optional().openapi({
      description:
        "`server` mode without an email address: a one-time link to the new config (private key included), shown once",
    }),
  })
  .openapi("RekeyResult");

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/rekey",
  tags: ["nodes"],
  summary: "Rotate a node's WireGuard key",
  description:
    "An agent node is asked to rotate: its agent makes a new key pair at its next heartbeat and moves " +
    "to it without a gap (answer 202). A node whose key the server made gets a new pair at once (200): " +
    "its new config is emailed to the node's address, or a one-time link to it is made. The answer never " +
    "holds a private key. Its previous key stays on the hub, without addresses, until the new one has " +
    "shaken hands. A node whose key only its owner knows and that has no agent: 409 (PATCH its publicKey).",
  ...access.admin,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(RekeyResultSchema), "Re-keyed by the server"),
    202: jsonResponse(envelope(RekeyResultSchema), "The node's agent will rotate at its next heartbeat"),
    ...problemResponses,
  },
});

export function registerRekeyNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    const outcome = await c.var.services.rekey.requestRotation(id, ctx);
    if (outcome.mode === "agent") return c.json(ok({ mode: outcome.mode, node: outcome.node }), 202);
    const { delivery } = outcome;
    if ("email" in delivery)
      return c.json(ok({ mode: outcome.mode, node: outcome.node, emailQueuedTo: delivery.email }), 200);
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    const configLink = {
      id: delivery.link.id,
      url: `${base}/api/v1/nodes/${id}/config/link?token=${delivery.link.token}`,
      expiresAt: delivery.link.expiresAt.toISOString(),
    };
    return c.json(ok({ mode: outcome.mode, node: outcome.node, configLink }), 200);
  });
}
