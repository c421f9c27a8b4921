import { and, asc, count, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { EmailStatus, EmailTemplate, Executor, WebhookType } from "../db/index.js";
import { emails, events, webhookAttempts, webhookDeliveries, webhooks } from "../db/index.js";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type EmailRow = typeof emails.$inferSelect;

// --- webhooks ---------------------------------------------------------------------------------

export async function insertWebhook(
  exec: Executor,
  values: {
    id: string;
    name: string;
    type: WebhookType;
    urlEnc: string;
    urlDisplay: string;
    scope: string;
    events: string[];
    enabled: boolean;
    secretEnc: string;
  },
): Promise<WebhookRow> {
  const [row] = await exec.insert(webhooks).values(values).returning();
  return row!;
}

export async function getWebhook(exec: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await exec.select().from(webhooks).where(eq(webhooks.id, id));
  return row;
}

export async function listWebhooks(exec: Executor): Promise<WebhookRow[]> {
  return exec.select().from(webhooks).orderBy(asc(webhooks.name));
}

export async function enabledWebhooks(exec: Executor): Promise<WebhookRow[]> {
  return exec.select().from(webhooks).where(eq(webhooks.enabled, true));
}

export async function updateWebhook(
  exec: Executor,
  id: string,
  patch: Partial<Omit<WebhookRow, "id" | "createdAt">>,
): Promise<WebhookRow | undefined> {
  const [row] = await exec
    .update(webhooks)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(webhooks.id, id))
    .returning();
  return row;
}

export async function deleteWebhook(exec: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await exec.delete(webhooks).where(eq(webhooks.id, id)).returning();
  return row;
}

/** Adds one failed attempt to the webhook's streak; returns the new streak. */
export async function addFailure(exec: Executor, id: string): Promise<number> {
  const [row] = await exec
    .update(webhooks)
    .set({ consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1` })
    .where(eq(webhooks.id, id))
    .returning({ n: webhooks.consecutiveFailures });
  return row?.n ?? 0;
}

export async function resetFailures(exec: Executor, id: string): Promise<void> {
  await exec
    .update(webhooks)
    .set({ consecutiveFailures: 0, lastDeliveryAt: new Date() })
    .where(eq(webhooks.id, id));
}

/** Disables an enabled webhook; undefined when it was already disabled (so one caller reports it). */
export async function disableWebhook(
  exec: Executor,
  id: string,
  reason: string,
): Promise<WebhookRow | undefined> {
  const [row] = await exec
    .update(webhooks)
    .set({ enabled: false, disabledReason: reason, disabledAt: new Date(), updatedAt: new Date() })
    .where(and(eq(webhooks.id, id), eq(webhooks.enabled, true)))
    .returning();
  return row;
}

// --- events -----------------------------------------------------------------------------------

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

// --- deliveries -------------------------------------------------------------------------------

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

// --- emails -----------------------------------------------------------------------------------

export async function insertEmail(
  exec: Executor,
  values: {
    to: string;
    template: EmailTemplate;
    subject: string | null;
    data: Record<string, unknown>;
    requestedBy: string | null;
  },
): Promise<EmailRow> {
  const [row] = await exec.insert(emails).values(values).returning();
  return row!;
}

/** Inserts the emails of events, skipping (event, template, recipient) triples that exist. */
export async function insertEventEmails(
  exec: Executor,
  rows: { to: string; template: EmailTemplate; data: Record<string, unknown>; eventId: string }[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await exec
    .insert(emails)
    .values(rows.map((r) => ({ ...r, requestedBy: "event" })))
    .onConflictDoNothing({ target: [emails.eventId, emails.template, emails.to] })
    .returning({ id: emails.id });
  return inserted.map((r) => r.id);
}

export async function getEmail(exec: Executor, id: string): Promise<EmailRow | undefined> {
  const [row] = await exec.select().from(emails).where(eq(emails.id, id));
  return row;
}

export async function claimEmail(exec: Executor, id: string, leaseMs: number): Promise<EmailRow | undefined> {
  const [row] = await exec
    .update(emails)
    .set({
      attempts: sql`${emails.attempts} + 1`,
      leasedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(emails.id, id),
        eq(emails.status, "queued"),
        or(isNull(emails.leasedUntil), lt(emails.leasedUntil, sql`now()`)),
      ),
    )
    .returning();
  return row;
}

export async function settleEmail(
  exec: Executor,
  id: string,
  patch: {
    status: EmailStatus;
    error?: string | null;
    providerId?: string | null;
    nextAttemptAt?: Date | null;
    sentAt?: Date | null;
    subject?: string | null;
  },
): Promise<void> {
  await exec
    .update(emails)
    .set({ ...patch, leasedUntil: null, updatedAt: new Date() })
    .where(and(eq(emails.id, id), eq(emails.status, "queued")));
}

export async function listEmails(
  exec: Executor,
  q: {
    limit: number;
    offset: number;
    status?: EmailStatus | undefined;
    template?: EmailTemplate | undefined;
  },
) {
  const where = and(
    q.status ? eq(emails.status, q.status) : undefined,
    q.template ? eq(emails.template, q.template) : undefined,
  );
  const [items, [total]] = await Promise.all([
    exec
      .select()
      .from(emails)
      .where(where)
      .orderBy(desc(emails.createdAt), desc(emails.id))
      .limit(q.limit)
      .offset(q.offset),
    exec.select({ n: count() }).from(emails).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export async function overdueEmails(
  exec: Executor,
  before: Date,
  limit: number,
): Promise<Pick<EmailRow, "id" | "nextAttemptAt">[]> {
  return exec
    .select({ id: emails.id, nextAttemptAt: emails.nextAttemptAt })
    .from(emails)
    .where(
      and(
        eq(emails.status, "queued"),
        lt(emails.updatedAt, before),
        or(isNull(emails.nextAttemptAt), lt(emails.nextAttemptAt, before)),
      ),
    )
    .orderBy(asc(emails.updatedAt))
    .limit(limit);
}
