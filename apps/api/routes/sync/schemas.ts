import { z } from "@hono/zod-openapi";
import { SYNC_STATUSES, SYNC_TYPES } from "../../../../src/db/index.js";
import type { SyncRunView } from "../../../../src/sync/index.js";

export const SyncRunSchema = z
  .object({
    id: z.uuid(),
    type: z.enum(SYNC_TYPES),
    status: z.enum(SYNC_STATUSES),
    itemsTotal: z.number().int(),
    itemsSynced: z.number().int(),
    itemsFailed: z.number().int(),
    error: z.string().nullable(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    requestedBy: z.string().nullable(),
    createdAt: z.string(),
    cancelRequested: z.boolean(),
    taskId: z.string().nullable(),
    options: z.object({
      skipUsage: z.boolean().optional(),
      networkId: z.string().optional(),
      removeUnknown: z.boolean().optional(),
    }),
    items: z.array(
      z.object({
        kind: z.string(),
        id: z.string(),
        name: z.string().optional(),
        ok: z.boolean(),
        note: z.string(),
      }),
    ),
  })
  .openapi("SyncRun");

export const SyncAccepted = z
  .object({
    success: z.literal(true),
    data: z.object({ sync_log_id: z.uuid(), task_id: z.string(), status: z.literal("PENDING") }),
    message: z.string(),
  })
  .openapi("SyncAccepted");

/** The API shape of a run (the job id is the `taskId` clients follow). */
export function presentRun(run: SyncRunView) {
  const { jobId, ...rest } = run;
  return { ...rest, taskId: jobId };
}

/** The 202 body of a requested run. */
export function accepted(run: SyncRunView, enqueued: boolean) {
  return {
    success: true as const,
    data: { sync_log_id: run.id, task_id: run.jobId ?? "", status: "PENDING" as const },
    message: enqueued
      ? `${run.type} sync queued; follow it at /api/v1/sync/status/${run.id}`
      : `${run.type} sync recorded; the queue is unreachable, so it starts when Redis is back`,
  };
}
