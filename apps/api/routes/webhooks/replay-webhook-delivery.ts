import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { DeliverySchema } from "./schemas.js";

export const route = createRoute({
  method: "post",
  path: "/api/admin/settings/webhooks/{id}/deliveries/{deliveryId}/replay",
  tags: ["admin"],
  summary: "Send a finished (failed, cancelled or delivered) delivery again; 409 while it is pending",
  ...access.admin,
  request: {
    params: z.object({
      id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
      deliveryId: z.uuid().openapi({ param: { name: "deliveryId", in: "path" } }),
    }),
  },
  responses: {
    202: jsonResponse(
      envelope(z.object({ delivery: DeliverySchema, enqueued: z.boolean() })),
      "The delivery is pending again",
    ),
    ...problemResponses,
  },
});

export function registerReplayWebhookDelivery(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    return c.json(ok(await c.var.services.webhooks.replay(id, deliveryId)), 202);
  });
}
