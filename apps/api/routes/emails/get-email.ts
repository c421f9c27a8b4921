import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EmailSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/emails/{id}",
  tags: ["admin"],
  summary: "One email and its status",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(EmailSchema), "The email"), ...problemResponses },
});

export function registerGetEmail(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.emails.get(c.req.valid("param").id)), 200));
}
