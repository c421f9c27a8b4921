import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { DomainError } from "../../../../src/errors.js";
import { RegisterNodeInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/v1/nodes/register",
  tags: ["nodes"],
  summary: "A node registers itself with an enrollment key (Bearer wse_… or X-Enrollment-Key)",
  description:
    "Re-registering an existing node (`nodeId`) also needs that node's current token in `X-Node-Token`; without it: 403 NODE_IDENTITY_UNPROVEN. " +
    "A `nodeId` no node has yet becomes the new node's id (409 NODE_ID_TAKEN when it is another node's). " +
    "`networkInfo.natType` takes the spellings nodes send (`FullCone`, `full_cone`, `Symmetric`, `Open`, …) and is stored canonical (`full-cone`, `symmetric`, `none`, …).",
  ...access.enrollment,
  request: jsonBody(RegisterNodeInput),
  responses: {
    201: jsonResponse(
      envelope(z.object({ node: NodeSchema, token: z.string() })),
      "The node and its token, shown once",
    ),
    ...problemResponses,
  },
});

export function registerRegisterNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const key =
      c.req.header("x-enrollment-key") ??
      /^Bearer\s+(wse_\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!key)
      throw new DomainError(
        "ENROLLMENT_KEY_INVALID",
        "send the enrollment key as `Authorization: Bearer wse_…`",
      );
    // A re-registration proves it is the node with that node's current token (X-Node-Token).
    const result = await c.var.services.enrollment.registerNode(key.trim(), c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(result), 201);
  });
}
