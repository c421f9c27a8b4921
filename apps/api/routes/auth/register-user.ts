import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { RegisterInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses, tooManyResponse } from "../../http/problem.js";
import { guard } from "../../middleware/access.js";
import { UserSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/auth/register",
  tags: ["auth"],
  summary:
    "Register a user (admins only, e.g. the bootstrap key): the first becomes admin unless `role` says otherwise",
  ...guard("admin", {
    unauthenticated:
      "registration needs an admin: call with the bootstrap API key, an admin key or an admin's session (CLI: create-user)",
    forbidden: "only an admin can register users",
  }),
  request: jsonBody(RegisterInput),
  responses: {
    201: jsonResponse(envelope(UserSchema), "The new user"),
    ...problemResponses,
    ...tooManyResponse,
  },
});

export function registerRegisterUser(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const user = await c.var.services.auth.register(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
      source: c.var.client.address,
    });
    return c.json(ok(user), 201);
  });
}
