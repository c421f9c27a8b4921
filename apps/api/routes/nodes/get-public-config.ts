import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";

const PublicSide = z.object({
  networkId: z.uuid(),
  name: z.string(),
  publicKey: z.string(),
  endpoint: z.string().nullable(),
  listenPort: z.number().int(),
  cidr4: z.string(),
  cidr6: z.string().nullable(),
});

export const route = createRoute({
  method: "get",
  path: "/api/v1/config",
  tags: ["nodes"],
  summary: "The public side of every network: hub key, endpoint, port and ranges",
  ...access.read,
  responses: {
    200: jsonResponse(envelope(z.array(PublicSide)), "One entry per network"),
    ...problemResponses,
  },
});

export function registerGetPublicConfig(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.configs.publicConfig()), 200));
}
