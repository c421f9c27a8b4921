import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES } from "../../../../src/db/index.js";
import type { AppEnv } from "../../env.js";
import { IdParam, jsonResponse, ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { DeliverySchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/settings/webhooks/{id}/deliveries",
  tags: ["admin"],
  summary: "A webhook's deliveries, newest first, each with every attempt",
  ...access.admin,
  request: { params: IdParam, query: PageQuery.extend({ status: z.enum(DELIVERY_STATUSES).optional() }) },
  responses: {
    200: jsonResponse(pagedEnvelope(DeliverySchema), "A page of deliveries"),
    ...problemResponses,
  },
});

export function registerListWebhookDeliveries(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.webhooks.listDeliveries({
      webhookId: c.req.valid("param").id,
      ...q,
    });
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
