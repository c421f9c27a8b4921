/**
 * Drizzle queries of webhook deliveries and their attempts: fan-out inserts, claims under a lease
 * and the per-webhook in-flight bound, settling, replay, the delivery log, and the overdue sweep.
 */
import { and, asc, count, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { events, webhookAttempts, webhookDeliveries, webhooks } from "../db/index.js";
import type { AttemptRow, DeliveryRow, EventRow, WebhookRow } from "./notify.repo.js";

/** Inserts deliveries, skipping (webhook, event) pairs that exist; returns the ids it created. */
export async function insertDeliveries(
  exec: Executor,
  rows: { webhookId: string; eventId: string }[],
  /** Leased to the caller for this long: no worker sends them meanwhile. */
  leaseMs?: number,
): Promise<string[]> {
  if (rows.length === 0) return [];
  const leasedUntil = leaseMs === undefined ? null : sql`now() + make_interval(secs => ${leaseMs / 1000})`;
  const inserted = await exec
    .insert(webhookDeliveries)
    .values(rows.map((r) => ({ ...r, leasedUntil })))
    .onConflictDoNothing({ target: [webhookDeliveries.webhookId, webhookDeliveries.eventId] })
    .returning({ id: webhookDeliveries.id });
  return inserted.map((r) => r.id);
}

export async function getDeliveryBundle(
  exec: Executor,
  id: string,
): Promise<{ delivery: DeliveryRow; webhook: WebhookRow; event: EventRow } | undefined> {
  const [row] = await exec
    .select({ delivery: webhookDeliveries, webhook: webhooks, event: events })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.id, id));
  return row;
}

export async function getDelivery(exec: Executor, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await exec.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id));
  return row;
}

/** Advisory lock class of delivery claims ("hook" in ASCII); the second key is the webhook's. */
const CLAIM_LOCK_CLASS = 0x686f6f6b;

/**
 * Leases a pending delivery that no one holds (counting the attempt) and returns it; undefined when
 * it is settled or leased already. With `bound`, returns "busy" instead while `maxInFlight` deliveries
 * of its webhook are leased: run it in a transaction, in which a lock per webhook makes claims of one
 * webhook take turns, so the bound holds however many workers claim at once.
 */
export async function claimDelivery(
  exec: Executor,
  id: string,
  leaseMs: number,
  bound?: { webhookId: string; maxInFlight: number },
): Promise<DeliveryRow | "busy" | undefined> {
  if (bound) {
    // An advisory lock, not the webhook's row: settling takes the delivery's row and then the
    // webhook's, and a claim taking them the other way round could deadlock with it.
    await exec.execute(
      sql`select pg_advisory_xact_lock(${CLAIM_LOCK_CLASS}::int, hashtext(${bound.webhookId}))`,
    );
    const [leased] = await exec
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.webhookId, bound.webhookId),
          eq(webhookDeliveries.status, "pending"),
          sql`${webhookDeliveries.leasedUntil} > now()`,
          sql`${webhookDeliveries.id} <> ${id}`,
        ),
      );
    if ((leased?.n ?? 0) >= bound.maxInFlight) return "busy";
  }
  const [row] = await exec
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      leasedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        eq(webhookDeliveries.status, "pending"),
        or(isNull(webhookDeliveries.leasedUntil), lt(webhookDeliveries.leasedUntil, sql`now()`)),
      ),
    )
    .returning();
  return row;
}

export async function settleDelivery(
  exec: Executor,
  id: string,
  patch: Pick<
    DeliveryRow,
    "status" | "lastStatusCode" | "lastError" | "responseExcerpt" | "nextAttemptAt"
  > & {
    deliveredAt?: Date | null;
  },
): Promise<void> {
  await exec
    .update(webhookDeliveries)
    .set({ ...patch, leasedUntil: null, updatedAt: new Date() })
    .where(eq(webhookDeliveries.id, id));
}

export async function cancelDelivery(exec: Executor, id: string, reason: string): Promise<void> {
  await exec
    .update(webhookDeliveries)
    .set({ status: "cancelled", lastError: reason, leasedUntil: null, updatedAt: new Date() })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "pending")));
}

/** Starts a new cycle for a finished delivery (replay); undefined when it is still pending. */
export async function reopenDelivery(exec: Executor, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await exec
    .update(webhookDeliveries)
    .set({
      status: "pending",
      attempts: 0,
      nextAttemptAt: null,
      leasedUntil: null,
      deliveredAt: null,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        inArray(webhookDeliveries.status, ["failed", "cancelled", "delivered"]),
      ),
    )
    .returning();
  return row;
}

export async function insertAttempt(exec: Executor, values: Omit<AttemptRow, "id">): Promise<void> {
  await exec.insert(webhookAttempts).values(values);
}

export async function listDeliveries(
  exec: Executor,
  q: { webhookId: string; limit: number; offset: number; status?: DeliveryRow["status"] | undefined },
) {
  const where = and(
    eq(webhookDeliveries.webhookId, q.webhookId),
    q.status ? eq(webhookDeliveries.status, q.status) : undefined,
  );
  const [items, [total]] = await Promise.all([
    exec
      .select({ delivery: webhookDeliveries, eventType: events.type })
      .from(webhookDeliveries)
      .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
      .where(where)
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(q.limit)
      .offset(q.offset),
    exec.select({ n: count() }).from(webhookDeliveries).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export async function attemptsOf(exec: Executor, deliveryIds: string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return exec
    .select()
    .from(webhookAttempts)
    .where(inArray(webhookAttempts.deliveryId, deliveryIds))
    .orderBy(asc(webhookAttempts.id));
}

/** Pending deliveries that should have been sent before `before` but are still pending. */
export async function overdueDeliveries(
  exec: Executor,
  before: Date,
  limit: number,
): Promise<Pick<DeliveryRow, "id" | "nextAttemptAt">[]> {
  return exec
    .select({ id: webhookDeliveries.id, nextAttemptAt: webhookDeliveries.nextAttemptAt })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        lt(webhookDeliveries.updatedAt, before),
        or(isNull(webhookDeliveries.nextAttemptAt), lt(webhookDeliveries.nextAttemptAt, before)),
      ),
    )
    .orderBy(asc(webhookDeliveries.updatedAt))
    .limit(limit);
}
