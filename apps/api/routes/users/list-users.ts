import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { UserSchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/users",
  tags: ["admin"],
  summary: "List users, oldest first (never a password or its hash)",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(z.array(UserSchema)), "Every user"), ...problemResponses },
});

export function registerListUsers(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.auth.listUsers()), 200));
}
