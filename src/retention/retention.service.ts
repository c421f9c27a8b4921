import { and, eq, exists, inArray, isNotNull, isNull, lt, not } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { emails, events, syncRuns, webhookDeliveries } from "../db/index.js";

/** How many rows each kind of history lost to one `prune`. */
export interface PruneResult {
  /** Events, with their webhook deliveries and attempts. */
  events: number;
  syncRuns: number;
  emails: number;
}

/** Rows deleted per statement: short transactions, short locks, however much has piled up. */
const BATCH = 5_000;

/**
 * Retention: history older than a cutoff leaves the database, so the outbox, the delivery log and the
 * sync log do not grow forever. Only finished history goes: an event not yet relayed, or with a
 * webhook delivery still pending or an email still queued, stays; so do sync runs still PENDING or
 * RUNNING and queued emails. Nodes, networks, usage and the audit log are never touched. Safe to run in
 * several processes at once (each batch deletes what it finds; a row two of them find goes once).
 */
export function createRetention(deps: { db: Db }) {
  const { db } = deps;

  /** Deletes the rows `pick` selects, in batches, until none is left; returns how many went. */
  async function drain(pick: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await pick();
      total += n;
      if (n < BATCH) return total;
    }
  }

  return {
    /** Deletes finished history created before `before`. */
    async prune(before: Date): Promise<PruneResult> {
      const eventsGone = await drain(async () => {
        const pendingDelivery = db
          .select({ one: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.eventId, events.id), eq(webhookDeliveries.status, "pending")));
        const queuedEmail = db
          .select({ one: emails.id })
          .from(emails)
          .where(and(eq(emails.eventId, events.id), eq(emails.status, "queued")));
        const old = db
          .select({ id: events.id })
          .from(events)
          .where(
            and(
              lt(events.createdAt, before),
              isNotNull(events.relayedAt),
              not(exists(pendingDelivery)),
              not(exists(queuedEmail)),
            ),
          )
          .limit(BATCH);
        // Deliveries and their attempts go with their event (ON DELETE CASCADE).
        return (await db.delete(events).where(inArray(events.id, old)).returning({ id: events.id })).length;
      });
      const syncRunsGone = await drain(async () => {
        const old = db
          .select({ id: syncRuns.id })
          .from(syncRuns)
          .where(
            and(
              lt(syncRuns.createdAt, before),
              inArray(syncRuns.status, ["COMPLETED", "FAILED", "CANCELLED"]),
            ),
          )
          .limit(BATCH);
        return (await db.delete(syncRuns).where(inArray(syncRuns.id, old)).returning({ id: syncRuns.id }))
          .length;
      });
      const emailsGone = await drain(async () => {
        // An email is the record that its event was mailed: it stays while the event may be relayed again.
        const unrelayedEvent = db
          .select({ one: events.id })
          .from(events)
          .where(and(eq(events.id, emails.eventId), isNull(events.relayedAt)));
        const old = db
          .select({ id: emails.id })
          .from(emails)
          .where(
            and(
              lt(emails.createdAt, before),
              inArray(emails.status, ["sent", "skipped", "failed"]),
              not(exists(unrelayedEvent)),
            ),
          )
          .limit(BATCH);
        return (await db.delete(emails).where(inArray(emails.id, old)).returning({ id: emails.id })).length;
      });
      return { events: eventsGone, syncRuns: syncRunsGone, emails: emailsGone };
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;
