import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { presentRun, SyncRunSchema } from "./schemas.js";

const RECENT = 10;

export const route = createRoute({
  method: "get",
  path: "/api/admin/sync",
  tags: ["admin"],
  summary: "Sync overview: the running run (if any) and the most recent runs",
  ...access.admin,
  responses: {
    200: jsonResponse(
      envelope(z.object({ running: SyncRunSchema.nullable(), recent: z.array(SyncRunSchema) })),
      "Overview",
    ),
    ...problemResponses,
  },
});

export function registerGetAdminSync(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { items } = await c.var.services.sync.listRuns({ limit: RECENT, offset: 0 });
    const running = items.find((r) => r.status === "RUNNING") ?? null;
    return c.json(ok({ running: running && presentRun(running), recent: items.map(presentRun) }), 200);
  });
}
