import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { clearSessionCookie } from "../../http/session-cookie.js";
import { access } from "../../middleware/access.js";

export const route = createRoute({
  method: "delete",
  path: "/api/auth/session",
  tags: ["auth"],
  summary: "Sign a browser out: clears the session cookie (needs no credentials, always succeeds)",
  ...access.public,
  responses: {
    200: jsonResponse(envelope(z.object({ signedIn: z.literal(false) })), "Signed out"),
    ...problemResponses,
  },
});

export function registerDeleteSession(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, (c) => {
    clearSessionCookie(c);
    return c.json(ok({ signedIn: false as const }), 200);
  });
}
