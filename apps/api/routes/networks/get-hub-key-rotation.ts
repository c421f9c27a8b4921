import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { HubKeyRotationStateSchema } from "./schemas.js";

export const route = createRoute({
  method: "get",
  path: "/api/v1/networks/{id}/hub-key-rotation",
  tags: ["networks"],
  summary: "A network's hub key rotation: agents still to confirm, reissued and manual nodes",
  ...access.admin,
  request: { params: IdParam },
  responses: { 200: jsonResponse(envelope(HubKeyRotationStateSchema), "The rotation"), ...problemResponses },
});

export function registerGetHubKeyRotation(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) =>
    c.json(ok(await c.var.services.rekey.hubKeyRotation(c.req.valid("param").id)), 200),
  );
}
