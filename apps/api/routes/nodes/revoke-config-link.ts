import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ConfigLinkQuery } from "./schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/v1/nodes/{id}/config/link",
  tags: ["nodes"],
  summary: "Revoke an unused one-time config link (its URL, with the admin's credentials)",
  ...access.admin,
  request: { params: IdParam, query: ConfigLinkQuery },
  responses: {
    200: jsonResponse(
      envelope(z.object({ id: z.uuid(), revokedAt: z.string() })),
      "The link is revoked: its URL answers 410",
    ),
    ...problemResponses,
  },
});

export function registerRevokeConfigLink(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const revoked = await c.var.services.configLinks.revoke(id, c.req.valid("query").token, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok({ id: revoked.id, revokedAt: revoked.revokedAt.toISOString() }), 200);
  });
}
