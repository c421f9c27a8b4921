import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EnrollmentKeySchema } from "../nodes/schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/enrollment-keys",
  tags: ["enrollment"],
  summary: "List enrollment keys (prefixes only)",
  ...access.read,
  request: { query: z.object({ networkId: z.uuid().optional() }) },
  responses: { 200: jsonResponse(envelope(z.array(EnrollmentKeySchema)), "The keys"), ...problemResponses },
});

export function registerListEnrollmentKeys(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.enrollmentKeys.listEnrollmentKeys(c.req.valid("query").networkId)), 200),
  );
}
