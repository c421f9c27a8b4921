import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { isAdmin } from "../../../../src/auth/index.js";
import { hubCounts } from "../../../../src/hubs/index.js";
import type { AppEnv } from "../../env.js";
import { jsonResponse } from "../../http/envelope.js";
import { access } from "../../middleware/access.js";

const Check = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
const Readiness = z.object({
  status: z.enum(["ok", "unavailable"]),
  checks: z.record(z.string(), Check),
  failed: z.array(z.string()),
  detail: z.string().optional(),
  hubs: z
    .union([
      z.object({
        serving: z.number(),
        absent: z.number(),
        unassigned: z.number(),
      }),
      z.object({
        hosts: z.array(
          z.object({
            id: z.string(),
            live: z.boolean(),
            networks: z.array(z.string()),
            heartbeatAt: z.string(),
            version: z.string(),
          }),
        ),
        networks: z.array(
          z.object({
            networkId: z.string(),
            name: z.string(),
            state: z.enum(["serving", "owner-absent", "unassigned"]),
            hubId: z.string().nullable(),
            epoch: z.number().nullable(),
            standbyHubId: z.string().nullable(),
          }),
        ),
        absent: z.array(z.string()),
      }),
    ])
    .optional()
    .openapi({
      description:
        "How many networks a live hub host serves, how many have an absent owner (its hub host stopped renewing its lease with nobody taking over; the API itself stays ready) and how many no host declares. Only an admin caller gets the details: which host serves each network, and the hosts",
    }),
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

const HUBS_TIMEOUT_MS = 2_000;

/** `promise`'s value, or undefined when it fails or takes longer than `ms`. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerGetReady(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const [ready, hubs] = await Promise.all([
      c.var.services.health.ready(),
      // Left out when Postgres does not answer in time; its own check reports that.
      withinMs(c.var.services.hubs.report(), HUBS_TIMEOUT_MS),
    ]);
    // IMPORTANT: the route is public; network and host ids are for admins only.
    const shown = hubs && (isAdmin(c.get("principal")) ? hubs : hubCounts(hubs));
    const readiness = shown ? { ...ready, hubs: shown } : ready;
    if (readiness.status === "ok") return c.json(readiness, 200);
    const detail = readiness.failed
      .map((name) => `${name}: ${readiness.checks[name]?.error ?? "failed"}`)
      .join("; ");
    return c.json({ ...readiness, detail }, 503);
  });
}
