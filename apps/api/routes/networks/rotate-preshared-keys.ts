import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NetworkSchema, ReissuedConfigsSchema, reissuedAnswer } from "./schemas.js";

export const PresharedKeyRotationSchema = z
  .object({
    network: NetworkSchema,
    nodesKeyed: z.number().int().openapi({ description: "Nodes given a fresh preshared key with their hub" }),
    reissued: ReissuedConfigsSchema,
  })
  .openapi("PresharedKeyRotation");

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks/{id}/psk/rotate",
  tags: ["networks"],
  summary: "Rotate every preshared key of a network",
  description:
    "Gives every node that has a preshared key with its hub (every node, when `presharedKeys` is on) a " +
    "fresh one and, with `presharedKeys: all`, a new secret for the mesh's node-to-node keys (every pair " +
    "gets a new key). Every config that changes gets a new version (agents apply it at once) and the " +
    "hub's interface is synced; nodes configured by hand need their new config: those whose key the " +
    "server holds get it by email or through the one-time links in this answer. No key is ever in an " +
    "answer. 409 when the network has no preshared keys.",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(PresharedKeyRotationSchema), "Rotated"), ...problemResponses },
});

export function registerRotatePresharedKeys(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const rotated = await c.var.services.presharedKeys.rotateNetwork(id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    return c.json(ok({ ...rotated, reissued: reissuedAnswer(base, rotated.reissued) }), 200);
  });
}
