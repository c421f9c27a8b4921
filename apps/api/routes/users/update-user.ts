import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { UpdateUserInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { UserSchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "patch",
  path: "/api/admin/users/{id}",
  tags: ["admin"],
  summary:
    "Change a user's role, or disable (ending their sessions) or enable them; the last enabled admin stays (409 LAST_ADMIN)",
  ...access.admin,
  request: { params: IdParam, ...jsonBody(UpdateUserInput) },
  responses: { 200: jsonResponse(envelope(UserSchema), "The user as changed"), ...problemResponses },
});

export function registerUpdateUser(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const user = await c.var.services.auth.updateUser(c.req.valid("param").id, c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(user), 200);
  });
}
