import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { CreateApiKeyInput } from "../../../../src/auth/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ApiKeySchema } from "../auth/schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/api-keys",
  tags: ["admin"],
  summary: "Create an API key; the key is in this response only",
  ...access.admin,
  request: jsonBody(CreateApiKeyInput),
  responses: {
    201: jsonResponse(envelope(ApiKeySchema.extend({ key: z.string() })), "The key, shown once"),
    ...problemResponses,
  },
});

export function registerCreateApiKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const created = await c.var.services.auth.createApiKey(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(created), 201);
  });
}
