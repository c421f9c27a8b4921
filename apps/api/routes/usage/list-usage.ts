import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse, ok, PageQuery, pagedEnvelope } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const Usage = z
  .object({
    networkId: z.uuid().nullable(),
    nodeId: z
      .uuid()
      .nullable()
      .openapi({ description: "null once the node is deleted with its history kept" }),
    publicKey: z.string(),
    nodeName: z.string().nullable(),
    email: z.string().nullable(),
    month: z.string().openapi({ example: "2026-11" }),
    rxBytes: z.number().int(),
    txBytes: z.number().int(),
    updatedAt: z.string().openapi({
      description: "when the peer last moved traffic this month (or its node's name or email changed)",
    }),
  })
  .openapi("Usage");

export const route = createRoute({
  method: "get",
  path: "/api/v1/usage",
  tags: ["usage"],
  summary: "Monthly transfer per peer, collected from the hub interfaces",
  ...access.read,
  request: {
    query: PageQuery.extend({
      node: z.uuid().optional(),
      network: z.uuid().optional(),
      email: z.string().trim().max(254).optional(),
      month: z
        .string()
        .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
        .optional(),
    }),
  },
  responses: {
    200: jsonResponse(pagedEnvelope(Usage), "Usage rows, newest month first"),
    ...problemResponses,
  },
});

export function registerListUsage(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { items, total } = await c.var.services.usage.list({
      nodeId: q.node,
      networkId: q.network,
      email: q.email,
      month: q.month,
      limit: q.limit,
      offset: q.offset,
    });
    return c.json(ok({ items, total, limit: q.limit, offset: q.offset }), 200);
  });
}
