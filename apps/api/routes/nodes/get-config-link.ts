import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { IdParam } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkQuery } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/nodes/{id}/config/link",
  tags: ["nodes"],
  summary:
    "Download the node's config (or ?format=qr its QR code) through a one-time link: no credentials, once; 410 after use, expiry or revoke, 404 for another node",
  ...access.public,
  request: {
    params: IdParam,
    query: ConfigLinkQuery.extend({ format: z.enum(["conf", "qr"]).default("conf") }),
  },
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

export function registerGetConfigLink(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    // Foot-gun: Hono answers HEAD with the GET handler, so a link checker's HEAD would use the link up.
    if (c.req.method === "HEAD") return c.body(null, 405, { Allow: "GET" });
    const { id } = c.req.valid("param");
    const { token, format } = c.req.valid("query");
    const config = await c.var.services.configLinks.download(id, token, format, {
      requestId: c.get("requestId"),
    });
    const headers = {
      "Cache-Control": "no-store",
      "Content-Disposition": `attachment; filename="${config.filename}"`,
      "X-Config-Version": String(config.version),
    };
    if (config.format === "qr")
      return c.body(new Uint8Array(config.png), 200, { ...headers, "Content-Type": "image/png" });
    return c.body(config.text, 200, { ...headers, "Content-Type": "text/plain; charset=utf-8" });
  });
}
