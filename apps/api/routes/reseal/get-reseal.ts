import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.js";
import { envelope, jsonResponse, ok } from "../../http/envelope.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { ResealStatusSchema } from "./schemas.js";

const Query = z.object({
  job_id: z
    .string()
    .regex(/^[\w:-]{1,200}$/, "must be a job id as POST /api/v1/admin/reseal returned it")
    .optional()
    .openapi({ description: "Also report the state of this re-seal job" }),
});

export const route = createRoute({
  method: "get",
  path: "/api/v1/admin/reseal",
  tags: ["admin"],
  summary: "How many secrets at rest are still sealed with an older ENCRYPTION_KEY, per table",
  ...access.admin,
  request: { query: Query },
  responses: { 200: jsonResponse(envelope(ResealStatusSchema), "Counts per table"), ...problemResponses },
});

export function registerGetReseal(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const { job_id: jobId } = c.req.valid("query");
    const { reseal } = c.var.services;
    const status = await reseal.status();
    const job = jobId ? { id: jobId, state: (await reseal.jobState(jobId)) ?? null } : null;
    return c.json(ok({ ...status, job }), 200);
  });
}
