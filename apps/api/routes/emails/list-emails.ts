import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { EMAIL_STATUSES, EMAIL_TEMPLATES } from "../../../../src/db/index.js";
import type { AppEnv } from "../../env.js";
import { jsonResponse, ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EmailSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/emails",
  tags: ["admin"],
  summary: "Emails sent or queued, newest first, with their status",
  ...access.admin,
  request: {
    query: PageQuery.extend({
      status: z.enum(EMAIL_STATUSES).optional(),
      template: z.enum(EMAIL_TEMPLATES).optional(),
    }),
  },
  responses: { 200: jsonResponse(pagedEnvelope(EmailSchema), "A page of emails"), ...problemResponses },
});

export function registerListEmails(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.emails.list(q);
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
