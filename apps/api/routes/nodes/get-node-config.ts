import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { IdParam } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/nodes/{id}/config",
  tags: ["nodes"],
  summary:
    "The node's wg-quick config (text), or ?format=qr for a PNG QR code; for admins or the node's own token (403 for others), each download with a private key audited",
  // An agent reads its config at every new version: the statement that reads it checks its token too.
  ...guard(
    "node-self-or-admin",
    {
      forbidden:
        "a node's config carries its private key: only an admin or the node's own token may download it",
    },
    { checksNodeToken: true },
  ),
  request: { params: IdParam, query: z.object({ format: z.enum(["conf", "qr"]).default("conf") }) },
  responses: {
    200: {
      content: {
        "text/plain": { schema: z.string() },
        "image/png": { schema: z.string().openapi({ format: "binary" }) },
      },
      description: "The config; `X-Config-Version` carries its version",
    },
    ...problemResponses,
  },
});

export function registerGetNodeConfig(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const { configs } = c.var.services;
    const claim = c.get("nodeClaim");
    const ctx = { principal: c.get("principal"), nodeClaim: claim, requestId: c.get("requestId") };
    // The read matched the claim's token: the caller is this node.
    const proven = (networkId: string) => {
      if (claim) c.set("principal", { kind: "node", id, networkId, scopes: [] });
    };
    const noStore = { "Cache-Control": "no-store" };
    if (c.req.valid("query").format === "qr") {
      const qr = await configs.renderConfigQr(id, ctx);
      proven(qr.networkId);
      return c.body(new Uint8Array(qr.png), 200, {
        ...noStore,
        "Content-Type": "image/png",
        "X-Config-Version": String(qr.version),
      });
    }
    const config = await configs.renderConfig(id, ctx);
    proven(config.networkId);
    return c.body(config.text, 200, {
      ...noStore,
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Disposition": `attachment; filename="${config.filename}"`,
      "X-Config-Version": String(config.version),
    });
  });
}
