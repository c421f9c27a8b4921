import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { PrincipalSchema, UserSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/auth/me",
  tags: ["auth"],
  summary: "The caller: its user record, or the kind and scopes of its API key",
  ...access.any,
  responses: {
    200: jsonResponse(envelope(z.union([UserSchema, PrincipalSchema])), "The caller"),
    ...problemResponses,
  },
});

export function registerGetMe(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const principal = c.get("principal")!;
    return c.json(ok(await c.var.services.auth.me(principal)), 200);
  });
}
