import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { PutSettingInput } from "../../../../src/settings/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { SettingSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/settings",
  tags: ["admin"],
  summary: "Set a setting; `encrypted: true` seals it (AES-256-GCM) and it is never shown again",
  ...access.admin,
  request: jsonBody(PutSettingInput),
  responses: { 200: jsonResponse(envelope(SettingSchema), "The setting"), ...problemResponses },
});

export function registerPutSetting(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.settings.put(c.req.valid("json"), c.get("principal"))), 200),
  );
}
