import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { SyncSettingsSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/sync/settings",
  tags: ["admin"],
  summary: "The scheduled reconcile: on or off, and its interval",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(SyncSettingsSchema), "The schedule"), ...problemResponses },
});

export function registerGetSyncSettings(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.settings.syncSettings()), 200));
}
