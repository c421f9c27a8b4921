import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { access } from "../../middleware/access.js";

const Check = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
const Readiness = z.object({
  status: z.enum(["ok", "unavailable"]),
  checks: z.record(z.string(), Check),
  failed: z.array(z.string()),
  detail: z.string().optional(),
});

export const route = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["health"],
  summary:
    "Readiness: Postgres, Redis (and in-process workers) answer, and every hub interface forwards between its peers (`hub-forwarding`)",
  ...access.public,
  responses: {
    200: jsonResponse(Readiness, "Every dependency answers"),
    503: jsonResponse(Readiness, "A dependency does not answer; `failed` names it"),
  },
});

export function registerGetReady(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const readiness = await c.var.services.health.ready();
    if (readiness.status === "ok") return c.json(readiness, 200);
    const detail = readiness.failed
      .map((name) => `${name}: ${readiness.checks[name]?.error ?? "failed"}`)
      .join("; ");
    return c.json({ ...readiness, detail }, 503);
  });
}
