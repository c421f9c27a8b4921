import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { LoginInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses, tooManyResponse } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { UserSchema } from "./schemas.js";

const Session = z.object({
  token: z.string(),
  tokenType: z.literal("Bearer"),
  expiresAt: z.string(),
  user: UserSchema,
});

export const route = createRoute({
  method: "post",
  path: "/api/auth/login",
  tags: ["auth"],
  summary: "Exchange email and password for a short-lived Bearer token (HS256 JWT)",
  ...access.public,
  request: jsonBody(LoginInput),
  responses: {
    200: jsonResponse(envelope(Session), "A session token"),
    ...problemResponses,
    ...tooManyResponse,
  },
});

export function registerLoginUser(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const session = await c.var.services.auth.login(c.req.valid("json"), { source: c.var.client.address });
    return c.json(ok({ ...session, tokenType: "Bearer" as const }), 200);
  });
}
