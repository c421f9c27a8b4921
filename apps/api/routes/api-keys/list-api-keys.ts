import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ApiKeySchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/api-keys",
  tags: ["admin"],
  summary: "List API keys (prefixes only, never the keys)",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(z.array(ApiKeySchema)), "Every key"), ...problemResponses },
});

export function registerListApiKeys(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.auth.listApiKeys()), 200));
}
