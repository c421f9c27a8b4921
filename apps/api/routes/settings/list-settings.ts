import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { SettingSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/admin/settings",
  tags: ["admin"],
  summary: "Every setting; encrypted values are never returned",
  ...access.admin,
  responses: { 200: jsonResponse(envelope(z.array(SettingSchema)), "The settings"), ...problemResponses },
});

export function registerListSettings(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => c.json(ok(await c.var.services.settings.list()), 200));
}
