import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses, unavailableResponse } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const Drift = z
  .object({
    networkId: z.uuid(),
    managed: z.boolean(),
    iface: z.string().nullable(),
    missing: z
      .array(z.string())
      .openapi({ description: "Public keys in the database but not on the interface" }),
    unexpected: z
      .array(z.string())
      .openapi({ description: "Public keys on the interface the database does not know" }),
    mismatched: z.array(z.object({ publicKey: z.string(), fields: z.array(z.string()) })),
    settings: z
      .array(
        z.object({
          field: z.enum(["address", "mtu", "route", "listenPort", "publicKey"]),
          desired: z.string().nullable(),
          actual: z.string().nullable(),
        }),
      )
      .openapi({
        description:
          "Interface settings (MTU, addresses, routes, listen port, key) that differ from the database; a drift check repairs a wrong listen port or key at once, as every sync does",
      }),
    forwarding: z.object({ ok: z.boolean(), problem: z.string().nullable() }).nullable().openapi({
      description:
        "Whether the hub forwards between its peers; `problem` says when nodes cannot reach each other and how to fix it",
    }),
    checkedAt: z.string(),
  })
  .openapi("Drift");

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}/drift",
  tags: ["networks"],
  summary: "Compare the database with the live hub interface (asks the peer-sync worker)",
  ...access.read,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(envelope(Drift), "The differences"),
    ...problemResponses,
    ...unavailableResponse,
  },
});

export function registerGetDrift(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.drift.check(c.req.valid("param").id)), 200));
}
