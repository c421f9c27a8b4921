import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import {
  HubKeyRotationStateSchema,
  NetworkSchema,
  NodeRefSchema,
  ReissuedConfigsSchema,
  reissuedAnswer,
} from "./schemas.js";

const RotateQuery = z.object({
  deadlineSeconds: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 24 * 60 * 60)
    .optional()
    .openapi({
      description:
        "How long to wait for every agent node to confirm the next key before the hub switches anyway (default 600)",
    }),
  now: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "Switch at once (a rotation under way too), without waiting for agents" }),
});

export const HubKeyRotationSchema = z
  .object({
    state: HubKeyRotationStateSchema,
    switched: z
      .object({
        network: NetworkSchema,
        previousHubPublicKey: z.string(),
        reissued: ReissuedConfigsSchema,
        manual: z.array(NodeRefSchema).openapi({
          description: "Nodes with neither an agent nor a server-held key: give them the new hub key by hand",
        }),
      })
      .optional()
      .openapi({ description: "Present when the hub key switched in this call" }),
  })
  .openapi("HubKeyRotation");

export const route = createRoute({
  method: "post",
  path: "/api/v1/networks/{id}/rotate-hub-key",
  tags: ["networks"],
  summary: "Rotate a network's hub key without a gap",
  description:
    "Prepares the hub's next key pair: every config names it, and each agent adds it as a second hub " +
    "peer. Once every enabled agent node reported that config applied (or at the deadline) the hub " +
    "switches to it, and agents move to it as soon as it shook hands with them. Answers 202 with the " +
    "rotation's state (follow it at GET …/hub-key-rotation), or 200 when it switched at once (`now=true`, " +
    "or no agent node to wait for). Nodes whose key the server holds get their new config after the " +
    "switch (email, or the one-time links of a 200 answer); `manual` nodes need the new key by hand. " +
    "409 HUB_KEY_ROTATION_PENDING while one is under way. The hub's private keys are never in an answer.",
  ...access.admin,
  request: { params: IdParam, query: RotateQuery },
  responses: {
    200: jsonResponse(envelope(HubKeyRotationSchema), "Switched at once"),
    202: jsonResponse(envelope(HubKeyRotationSchema), "Rotation under way"),
    ...problemResponses,
  },
});

export function registerRotateHubKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const ctx = { principal: c.get("principal"), requestId: c.get("requestId") };
    const options = { deadlineSeconds: query.deadlineSeconds, now: query.now === "true" };
    const { state, switched } = await c.var.services.rekey.rotateHubKey(id, options, ctx);
    if (!switched) return c.json(ok({ state }), 202);
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    const reissued = reissuedAnswer(base, switched.reissued);
    return c.json(ok({ state, switched: { ...switched, reissued } }), 200);
  });
}
