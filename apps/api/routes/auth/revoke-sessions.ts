import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { clearSessionCookie } from "../../http/session-cookie.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "post",
  path: "/api/auth/sessions/revoke",
  tags: ["auth"],
  summary: "Sign out everywhere: every session token of the calling user stops working at once",
  description:
    "For a lost laptop or a leaked token. Signs this browser out too; sign in again for a new session. API keys are revoked on their own (`DELETE /api/admin/api-keys/{id}`).",
  ...access.any,
  responses: {
    200: jsonResponse(envelope(z.object({ revoked: z.literal(true) })), "Every session is signed out"),
    ...problemResponses,
  },
});

export function registerRevokeSessions(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const result = await c.var.services.auth.revokeSessions({
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    clearSessionCookie(c);
    return c.json(ok(result), 200);
  });
}
