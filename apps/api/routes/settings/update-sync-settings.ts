import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { SyncSettingsInput } from "../../../../src/settings/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { SyncSettingsSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/sync/settings",
  tags: ["admin"],
  summary: "Change the scheduled reconcile; schedulers pick it up without a restart",
  ...access.admin,
  request: jsonBody(SyncSettingsInput),
  responses: { 200: jsonResponse(envelope(SyncSettingsSchema), "The schedule"), ...problemResponses },
});

export function registerUpdateSyncSettings(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(
      ok(await c.var.services.settings.updateSyncSettings(c.req.valid("json"), c.get("principal"))),
      200,
    ),
  );
}
