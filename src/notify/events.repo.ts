/**
 * Drizzle queries of the event outbox as notifications read it: locking unrelayed events for the
 * relay, marking them relayed, and inserting an event row directly (webhook tests).
 */
import { asc, inArray, isNull } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { events } from "../db/index.js";
import type { EventRow } from "./notify.repo.js";

/** Locks up to `limit` unrelayed events, oldest first, skipping rows another relay holds. */
export async function lockUnrelayed(exec: Executor, limit: number): Promise<EventRow[]> {
  return exec
    .select()
    .from(events)
    .where(isNull(events.relayedAt))
    .orderBy(asc(events.createdAt))
    .limit(limit)
    .for("update", { skipLocked: true });
}

export async function markRelayed(exec: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await exec.update(events).set({ relayedAt: new Date() }).where(inArray(events.id, ids));
}

export async function insertEventRow(
  exec: Executor,
  values: { type: string; data: Record<string, unknown>; source: string; relayedAt: Date | null },
): Promise<EventRow> {
  const [row] = await exec.insert(events).values(values).returning();
  return row!;
}
