import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { CONFIG_LINK_TTL_SECONDS, CreateConfigLinkInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/{id}/config/link",
  tags: ["nodes"],
  summary: "Make a one-time link that downloads the node's config (private key included) once",
  description: `\`ttlSeconds\`: ${CONFIG_LINK_TTL_SECONDS.default} unless given, from ${CONFIG_LINK_TTL_SECONDS.min} to ${CONFIG_LINK_TTL_SECONDS.max}. The link is bound to this node, used up by its first download, and revocable (DELETE on it); its token is shown in this answer only.`,
  ...access.admin,
  request: {
    params: IdParam,
    body: { content: { "application/json": { schema: CreateConfigLinkInput } }, required: false },
  },
  responses: { 201: jsonResponse(envelope(ConfigLinkSchema), "The link, shown once"), ...problemResponses },
});

export function registerCreateConfigLink(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    // Without a JSON body the validator hands over `{}`: the default applies here too.
    const ttlSeconds = c.req.valid("json").ttlSeconds ?? CONFIG_LINK_TTL_SECONDS.default;
    const link = await c.var.services.configLinks.create(id, ttlSeconds, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    const base = c.get("publicUrl") ?? new URL(c.req.url).origin;
    const url = `${base}/api/v1/nodes/${id}/config/link?token=${link.token}`;
    return c.json(ok({ id: link.id, url, expiresAt: link.expiresAt.toISOString() }), 201);
  });
}
