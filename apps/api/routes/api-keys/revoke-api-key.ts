import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ApiKeySchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/admin/api-keys/{id}",
  tags: ["admin"],
  summary: "Revoke an API key (it stops working at once)",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(ApiKeySchema), "The revoked key"), ...problemResponses },
});

export function registerRevokeApiKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const key = await c.var.services.auth.revokeApiKey(id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(key), 200);
  });
}
