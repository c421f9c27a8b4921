import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { SessionInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses, tooManyResponse } from "../../http/problem.js";
import { setSessionCookie } from "../../http/session-cookie.js";
import { access } from "../../middleware/access.js";
import { SessionSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/auth/session",
  tags: ["auth"],
  summary: "Sign a browser in: an API key, or email and password, becomes an HttpOnly session cookie",
  description:
    "Sets `wiresync_session` (HttpOnly, SameSite=Strict, Secure over https). The token is never in the body.",
  ...access.public,
  request: jsonBody(SessionInput),
  responses: {
    200: jsonResponse(envelope(SessionSchema), "Signed in"),
    ...problemResponses,
    ...tooManyResponse,
  },
});

export function registerCreateSession(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { token, expiresAt, owner } = await c.var.services.auth.openSession(c.req.valid("json"), {
      source: c.var.client.address,
    });
    setSessionCookie(c, token, (expiresAt.getTime() - Date.now()) / 1000);
    c.header("Cache-Control", "no-store");
    return c.json(ok({ ...owner, expiresAt: expiresAt.toISOString() }), 200);
  });
}
