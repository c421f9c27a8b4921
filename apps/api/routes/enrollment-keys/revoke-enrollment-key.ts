import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EnrollmentKeySchema } from "../nodes/schemas.js";

export const route = createRoute({
  method: "delete",
  path: "/api/v1/enrollment-keys/{id}",
  tags: ["enrollment"],
  summary: "Revoke an enrollment key (nodes it enrolled stay)",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(EnrollmentKeySchema), "The revoked key"), ...problemResponses },
});

export function registerRevokeEnrollmentKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const key = await c.var.services.enrollmentKeys.revokeEnrollmentKey(c.req.valid("param").id, {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(key), 200);
  });
}
