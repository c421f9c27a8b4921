import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { agentCommand, CreateEnrollmentKeyInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { EnrollmentKeySchema } from "../nodes/schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/enrollment-keys",
  tags: ["enrollment"],
  summary: "Create an enrollment key for a network; the key is in this response only",
  ...access.admin,
  request: jsonBody(CreateEnrollmentKeyInput),
  responses: {
    201: jsonResponse(
      envelope(
        EnrollmentKeySchema.extend({
          key: z.string(),
          agentCommand: z.string().openapi({
            description:
              "The shell line that enrolls a machine with this key (as root, on a machine with the agent installed as `wiresync-agent`); holds the key, so shown once too",
          }),
        }),
      ),
      "The key, shown once",
    ),
    ...problemResponses,
  },
});

export function registerCreateEnrollmentKey(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const key = await c.var.services.enrollmentKeys.createEnrollmentKey(c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    const serverUrl = c.get("publicUrl") ?? new URL(c.req.url).origin;
    return c.json(ok({ ...key, agentCommand: agentCommand(serverUrl, key.key) }), 201);
  });
}
