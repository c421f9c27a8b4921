import { and, count, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Executor, SyncRunItem, SyncRunOptions, SyncStatus, SyncType } from "../db/index.js";
import { syncRuns } from "../db/index.js";

export type SyncRunRow = typeof syncRuns.$inferSelect;

export const FINISHED_STATUSES: readonly SyncStatus[] = ["COMPLETED", "FAILED", "CANCELLED"];

export async function insertRun(
  exec: Executor,
  values: { type: SyncType; requestedBy: string | null; options: SyncRunOptions; dedupeKey?: string | null },
): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .insert(syncRuns)
    .values({ ...values, dedupeKey: values.dedupeKey ?? null })
    .onConflictDoNothing({ target: syncRuns.dedupeKey })
    .returning();
  return row;
}

export async function getRun(exec: Executor, id: string): Promise<SyncRunRow | undefined> {
  const [row] = await exec.select().from(syncRuns).where(eq(syncRuns.id, id));
  return row;
}

export async function getRunByDedupeKey(exec: Executor, key: string): Promise<SyncRunRow | undefined> {
  const [row] = await exec.select().from(syncRuns).where(eq(syncRuns.dedupeKey, key));
  return row;
}

export async function setJobId(exec: Executor, id: string, jobId: string): Promise<void> {
  await exec.update(syncRuns).set({ jobId }).where(eq(syncRuns.id, id));
}

export async function listRuns(
  exec: Executor,
  q: { limit: number; offset: number; type?: SyncType | undefined },
) {
  const where = q.type ? eq(syncRuns.type, q.type) : undefined;
  const [items, [total]] = await Promise.all([
    exec
      .select()
      .from(syncRuns)
      .where(where)
      .orderBy(desc(syncRuns.createdAt), desc(syncRuns.id))
      .limit(q.limit)
      .offset(q.offset),
    exec.select({ n: count() }).from(syncRuns).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

/** PENDING → RUNNING (or RUNNING again on a retry). Returns undefined when the run is finished. */
export async function markRunning(exec: Executor, id: string): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .update(syncRuns)
    .set({
      status: "RUNNING",
      startedAt: sql`coalesce(${syncRuns.startedAt}, now())`,
      attempts: sql`${syncRuns.attempts} + 1`,
      itemsTotal: 0,
      itemsSynced: 0,
      itemsFailed: 0,
      items: [],
      error: null,
      updatedAt: new Date(),
    })
    .where(and(eq(syncRuns.id, id), inArray(syncRuns.status, ["PENDING", "RUNNING"])))
    .returning();
  return row;
}

export async function setProgress(
  exec: Executor,
  id: string,
  progress: { itemsTotal: number; itemsSynced: number; itemsFailed: number; items: SyncRunItem[] },
): Promise<{ cancelRequested: boolean } | undefined> {
  const [row] = await exec
    .update(syncRuns)
    .set({ ...progress, updatedAt: new Date() })
    .where(and(eq(syncRuns.id, id), eq(syncRuns.status, "RUNNING")))
    .returning({ cancelRequested: syncRuns.cancelRequested });
  return row;
}

/** Moves a run from one of `from` to a finished status; returns undefined when it was not in `from`. */
export async function finishRun(
  exec: Executor,
  id: string,
  from: readonly SyncStatus[],
  to: SyncStatus,
  error: string | null = null,
  extra: { updatedBefore?: Date } = {},
): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .update(syncRuns)
    .set({ status: to, error, completedAt: new Date(), updatedAt: new Date() })
    .where(
      and(
        eq(syncRuns.id, id),
        inArray(syncRuns.status, [...from]),
        extra.updatedBefore ? lt(syncRuns.updatedAt, extra.updatedBefore) : undefined,
      ),
    )
    .returning();
  return row;
}

/**
 * RUNNING → PENDING for a run whose worker stops before finishing it (shutdown); its job goes back to
 * the queue. Undefined when the run is not RUNNING or a cancel was requested meanwhile.
 */
export async function releaseRun(exec: Executor, id: string): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .update(syncRuns)
    .set({ status: "PENDING", updatedAt: new Date() })
    .where(and(eq(syncRuns.id, id), eq(syncRuns.status, "RUNNING"), eq(syncRuns.cancelRequested, false)))
    .returning();
  return row;
}

export async function requestCancel(exec: Executor, id: string): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .update(syncRuns)
    .set({ cancelRequested: true, updatedAt: new Date() })
    .where(and(eq(syncRuns.id, id), eq(syncRuns.status, "RUNNING")))
    .returning();
  return row;
}

export async function newestRunning(exec: Executor): Promise<SyncRunRow | undefined> {
  const [row] = await exec
    .select()
    .from(syncRuns)
    .where(eq(syncRuns.status, "RUNNING"))
    .orderBy(desc(syncRuns.createdAt))
    .limit(1);
  return row;
}

/** Unfinished runs not touched since `before`: candidates for the stale-run check. */
export async function unfinishedSince(exec: Executor, before: Date): Promise<SyncRunRow[]> {
  return exec
    .select()
    .from(syncRuns)
    .where(and(inArray(syncRuns.status, ["PENDING", "RUNNING"]), lt(syncRuns.updatedAt, before)))
    .limit(500);
}
