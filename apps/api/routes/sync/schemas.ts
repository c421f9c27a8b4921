import { z } from "@hono/zod-openapi";
import type { SyncRunOptions } from "../../../../src/db/index.js";
import { SYNC_STATUSES, SYNC_TYPES } from "../../../../src/db/index.js";
import type { SyncRunView } from "../../../../src/sync/index.js";
import { oneLine } from "../../../../src/validation.js";

/** Run types a client may request (a drift fix is requested through the drift routes). */
export const REQUESTABLE_SYNC_TYPES = ["full", "peers", "configs", "usage"] as const;
type RequestableType = (typeof REQUESTABLE_SYNC_TYPES)[number];

/**
 * The body of a sync request, in the sync backend's snake_case. Options that do not apply to the run
 * (or to wiresync at all, like `skip_users`) are accepted and ignored, and the answer's message names
 * each one (see `syncRequestOf`).
 */
export const SyncRequestBody = z
  .object({
    requested_by: oneLine(100).optional().openapi({ description: "Recorded as the run's requester" }),
    skip_usage: z
      .boolean()
      .optional()
      .openapi({ description: "Full syncs only: leave usage collection out" }),
    skip_users: z.boolean().optional().openapi({
      description:
        "Accepted for sync-backend clients. wiresync has no users to sync, so it changes nothing; the message says so",
    }),
    network_id: z
      .uuid()
      .optional()
      .openapi({ description: "Partial syncs only: restrict the run to one network" }),
  })
  .strict();
export type SyncRequestBody = z.infer<typeof SyncRequestBody>;

/**
 * What to run for a request body, and a note for each option it ignores (for the answer's message).
 * Pure.
 */
export function syncRequestOf(
  type: RequestableType,
  body: SyncRequestBody,
): { type: RequestableType; options: SyncRunOptions; requestedBy: string | undefined; notes: string[] } {
  const notes: string[] = [];
  const options: SyncRunOptions = {};
  if (body.skip_users !== undefined) notes.push("skip_users ignored: wiresync has no users to sync");
  if (body.skip_usage !== undefined) {
    if (type === "full") {
      if (body.skip_usage) options.skipUsage = true;
    } else notes.push(`skip_usage ignored: it applies to full syncs, not ${type}`);
  }
  if (body.network_id !== undefined) {
    if (type === "full") notes.push("network_id ignored: a full sync covers every network");
    else options.networkId = body.network_id;
  }
  return { type, options, requestedBy: body.requested_by, notes };
}

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

/** The 202 body of a requested run; `notes` (ignored options) end the message. */
export function accepted(run: SyncRunView, enqueued: boolean, notes: readonly string[] = []) {
  const message = enqueued
    ? `${run.type} sync queued; follow it at /api/v1/sync/status/${run.id}`
    : `${run.type} sync recorded; the queue is unreachable, so it starts when Redis is back`;
  return {
    success: true as const,
    data: { sync_log_id: run.id, task_id: run.jobId ?? "", status: "PENDING" as const },
    message: [message, ...notes].join("; "),
  };
}
