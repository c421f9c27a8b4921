import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { RotateNodeKeyInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/key",
  tags: ["agent"],
  summary: "A node's agent moves the node to its new key (node token and a proof of the current key)",
  description:
    "The agent makes the new key pair itself and proves it holds the current private key: `proof` is " +
    "an HMAC-SHA256, keyed with the X25519 secret of the node's current key and its hub's key, over the " +
    "node id, the current and the new public key. The answer comes once the hub's interface holds the " +
    "new key (`hubApplied`), so the agent can switch its interface at once. The previous key stays on " +
    "the hub, without addresses, until the new one has shaken hands. Sending the same rotation again " +
    "answers the same; a proof over a key that is no longer current is refused (403).",
  ...guard("node-self", { forbidden: "a node rotates its own key with its own token" }),
  request: { params: IdParam, ...jsonBody(RotateNodeKeyInput) },
  responses: {
    200: jsonResponse(
      envelope(z.object({ publicKey: z.string(), configVersion: z.number().int(), hubApplied: z.boolean() })),
      "The node's key is the new one",
    ),
    ...problemResponses,
  },
});

export function registerRotateNodeKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { node, hubApplied } = await c.var.services.rekey.rotateAgentKey(
      c.req.valid("param").id,
      c.req.valid("json"),
      { principal: c.get("principal"), requestId: c.get("requestId") },
    );
    return c.json(ok({ publicKey: node.publicKey, configVersion: node.configVersion, hubApplied }), 200);
  });
}
