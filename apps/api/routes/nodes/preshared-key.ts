import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { PresharedKeyChange } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkSchema, NodeSchema } from "./schemas.js";

export const PresharedKeyResultSchema = z
  .object({
    node: NodeSchema,
    emailQueuedTo: z.string().optional().openapi({
      description: "The server holds the node's key: its new config was queued by email to this address",
    }),
    configLink: ConfigLinkSchema.optional().openapi({
      description:
        "The server holds the node's key and it has no email address: a one-time link to its new config, shown once",
    }),
  })
  .openapi("PresharedKeyResult");

const description =
  "The node's config gets a new version (its agent applies it at once; a node whose key the server " +
  "holds has its new config emailed or a one-time link made; any other node downloads its config " +
  "again) and the hub's interface is synced. The key is never in this answer: only in the node's " +
  "config, for an admin or the node's own token. Only the hub's peer carries it.";

export const rotateRoute = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/psk",
  tags: ["nodes"],
  summary: "Turn on or rotate a node's preshared key",
  description: `Gives the node a fresh 32-byte preshared key with its hub. ${description}`,
  ...access.admin,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(PresharedKeyResultSchema), "The node has a new preshared key"),
    ...problemResponses,
  },
});

export const removeRoute = createRoute({
  method: "delete",
  path: "/api/v1/nodes/{id}/psk",
  tags: ["nodes"],
  summary: "Turn off a node's preshared key",
  description: `Removes the node's preshared key (409 when it has none). ${description}`,
  ...access.admin,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(PresharedKeyResultSchema), "The node has no preshared key"),
    ...problemResponses,
  },
});

export function registerPresharedKey(app: OpenAPIHono<AppEnv>) {
  const answer = (origin: string, id: string, change: PresharedKeyChange) => {
    const { node, delivery } = change;
    if (delivery === null) return { node };
    if ("email" in delivery) return { node, emailQueuedTo: delivery.email };
    const configLink = {
      id: delivery.link.id,
      url: `${origin}/api/v1/nodes/${id}/config/link?token=${delivery.link.token}`,
      expiresAt: delivery.link.expiresAt.toISOString(),
    };
    return { node, configLink };
  };
  app.openapi(rotateRoute, async (c) => {
    const { id } = c.req.valid("param");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    const change = await c.var.services.presharedKeys.rotate(id, ctx);
    return c.json(ok(answer(c.get("publicUrl") ?? new URL(c.req.url).origin, id, change)), 200);
  });
  app.openapi(removeRoute, async (c) => {
    const { id } = c.req.valid("param");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    const change = await c.var.services.presharedKeys.remove(id, ctx);
    return c.json(ok(answer(c.get("publicUrl") ?? new URL(c.req.url).origin, id, change)), 200);
  });
}
