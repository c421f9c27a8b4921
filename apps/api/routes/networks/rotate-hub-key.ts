import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkSchema } from "../nodes/schemas.js";
import { NetworkSchema } from "./schemas.js";

export const HubKeyRotationSchema = z
  .object({
    network: NetworkSchema,
    previousHubPublicKey: z.string(),
    reissued: z
      .array(
        z.object({
          nodeId: z.uuid(),
          name: z.string(),
          emailQueuedTo: z.string().optional(),
          configLink: ConfigLinkSchema.optional(),
        }),
      )
      .openapi({
        description:
          "Every enabled node whose key the server holds: its new config was queued by email, or here is a one-time link to it (shown once)",
      }),
  })
  .openapi("HubKeyRotation");

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks/{id}/rotate-hub-key",
  tags: ["networks"],
  summary: "Give a network's hub a new key pair",
  description:
    "Every node's config names the new hub key at a new version: agents apply it as soon as it is " +
    "announced, and the hub's interface switches to the new key at its sync. Nodes configured by hand " +
    "need their new config: those whose key the server holds get it by email, or through the one-time " +
    "links in this answer. The hub's private key is never in an answer.",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(HubKeyRotationSchema), "Rotated"), ...problemResponses },
});

export function registerRotateHubKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const rotated = await c.var.services.rekey.rotateHubKey(id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    const reissued = rotated.reissued.map(({ nodeId, name, delivery }) =>
      "email" in delivery
        ? { nodeId, name, emailQueuedTo: delivery.email }
        : {
            nodeId,
            name,
            configLink: {
              id: delivery.link.id,
              url: `${base}/api/v1/nodes/${nodeId}/config/link?token=${delivery.link.token}`,
              expiresAt: delivery.link.expiresAt.toISOString(),
            },
          },
    );
    return c.json(ok({ ...rotated, reissued }), 200);
  });
}
