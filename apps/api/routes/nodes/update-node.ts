import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import { UpdateNodeInput } from "../../../../src/mesh/index.js";
import type { AppEnv } from "../../env.js";
import { envelope, IdParam, jsonBody, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { NodeSchema } from "./schemas.js";

export const route = createRoute({
  method: "patch",
  path: "/api/v1/nodes/{id}",
  tags: ["nodes"],
  summary:
    "Change a node: name, email, key, address, endpoint, role, routes, tags, monthly quota, or disable it",
  description:
    "`monthlyQuotaBytes` limits bytes received + sent per UTC month (null: the network's default): 80 % emits `node.quota-warning`, 100 % `node.quota-exceeded` and disables the node (`disabledReason: quota`) until the month turns. `status: pending` enables a disabled node, a quota's disable included (for the rest of the month). New `ip4`/`ip6` move the node: the address must be a free, usable one of the network's range (409 ADDRESS_TAKEN when the hub or another node has it, 422 ADDRESS_OUTSIDE_NETWORK outside the range); every config that names the node gets a new version and the hub moves its peer at once.",
  ...access.admin,
  request: { params: IdParam, ...jsonBody(UpdateNodeInput) },
  responses: { 200: jsonResponse(envelope(NodeSchema), "The node"), ...problemResponses },
});

export function registerUpdateNode(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const node = await c.var.services.nodes.updateNode(c.req.valid("param").id, c.req.valid("json"), {
      principal: c.get("principal"),
      requestId: c.get("requestId"),
    });
    return c.json(ok(node), 200);
  });
}
