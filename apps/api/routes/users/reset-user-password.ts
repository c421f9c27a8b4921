import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { ResetPasswordInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses, tooManyResponse } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { UserSchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/users/{id}/password",
  tags: ["admin"],
  summary:
    "Reset a user's password and end their sessions: to `password` when given, else to a generated password returned in this response only",
  ...access.admin,
  request: { params: IdParam, ...jsonBody(ResetPasswordInput) },
  responses: {
    200: jsonResponse(
      envelope(
        z.object({
          user: UserSchema,
          password: z
            .string()
            .optional()
            .openapi({ description: "The generated password, only when none was sent; shown once" }),
        }),
      ),
      "The user, and the generated password if any",
    ),
    ...problemResponses,
    ...tooManyResponse,
  },
});

export function registerResetUserPassword(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const reset = await c.var.services.auth.resetPassword(c.req.valid("param").id, c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
      source: c.var.client.address,
    });
    return c.json(ok(reset), 200);
  });
}
