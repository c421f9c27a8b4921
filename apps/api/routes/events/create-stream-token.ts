import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { StreamTokenInput, StreamTokenSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/events/token",
  tags: ["events"],
  summary: "A stream token: joins one room of /api/v1/events or /ws as `?token=`, for 120 seconds",
  description:
    "For a browser page that cannot send a header or cookie to the stream. The token reaches that room only, and no other route; it is stored hashed and expires by itself.",
  ...access.any,
  request: jsonBody(StreamTokenInput),
  responses: {
    201: jsonResponse(envelope(StreamTokenSchema), "The token (shown once) and when it expires"),
    ...problemResponses,
  },
});

export function registerCreateStreamToken(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { room } = c.req.valid("json");
    const token = await c.var.services.realtime.issueToken(c.get("principal")!, room);
    return c.json(ok(token), 201);
  });
}
