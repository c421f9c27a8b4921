import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse, ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    entityType: z.string(),
    entityId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
  })
  .openapi("AuditEntry");

export const route = createRoute({
  method: "get",
  path: "/api/admin/audit",
  tags: ["admin"],
  summary: "The audit log, newest first: who changed what",
  ...access.admin,
  request: {
    query: PageQuery.extend({
      entityType: z.string().max(50).optional(),
      entityId: z.string().max(100).optional(),
    }),
  },
  responses: { 200: jsonResponse(pagedEnvelope(AuditEntry), "A page of entries"), ...problemResponses },
});

export function registerListAuditLog(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.audit.list(q);
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
