import type { SQL } from "drizzle-orm";
import { and, eq, exists, inArray, isNotNull, isNull, lt, not, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { emails, events, networks, syncRuns, usageHourly, webhookDeliveries } from "../db/index.js";

/** How many rows each kind of history lost to one `prune`. */
export interface PruneResult {
  /** Events, with their webhook deliveries and attempts. */
  events: number;
  syncRuns: number;
  emails: number;
}

/** Rows deleted per statement by default: short transactions, short locks, however much piled up. */
const BATCH = 5_000;

/**
 * Retention: history older than a cutoff leaves the database, so the outbox, the delivery log and the
 * sync log do not grow forever. Only finished history goes: an event not yet relayed, or with a
 * webhook delivery still pending or an email still queued, stays; so do sync runs still PENDING or
 * RUNNING and queued emails. Hourly usage has a retention of its own (`pruneUsageHours`); monthly
 * totals, nodes, networks and the audit log are never touched. Safe to run in several processes at once
 * (each batch deletes what it finds; a row two of them find goes once).
 */
export function createRetention(deps: { db: Db; batchSize?: number }) {
  const { db } = deps;
  const batchSize = deps.batchSize ?? BATCH;

  /** Deletes the rows of `table` that `where` selects, in batches, until none is left; returns how many went. */
  async function drain(table: typeof events | typeof syncRuns | typeof emails, where: SQL | undefined) {
    let total = 0;
    for (;;) {
      const batch = db.select({ id: table.id }).from(table).where(where).limit(batchSize);
      const gone = await db.delete(table).where(inArray(table.id, batch)).returning({ id: table.id });
      total += gone.length;
      if (gone.length < batchSize) return total;
    }
  }

  return {
    /** Deletes finished history created before `before`. */
    async prune(before: Date): Promise<PruneResult> {
      const pendingDelivery = db
        .select({ one: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.eventId, events.id), eq(webhookDeliveries.status, "pending")));
      const queuedEmail = db
        .select({ one: emails.id })
        .from(emails)
        .where(and(eq(emails.eventId, events.id), eq(emails.status, "queued")));
      // Deliveries and their attempts go with their event (ON DELETE CASCADE).
      const eventsGone = await drain(
        events,
        and(
          lt(events.createdAt, before),
          isNotNull(events.relayedAt),
          not(exists(pendingDelivery)),
          not(exists(queuedEmail)),
        ),
      );
      const syncRunsGone = await drain(
        syncRuns,
        and(lt(syncRuns.createdAt, before), inArray(syncRuns.status, ["COMPLETED", "FAILED", "CANCELLED"])),
      );
      // An email is the record that its event was mailed: it stays while the event may be relayed again.
      const unrelayedEvent = db
        .select({ one: events.id })
        .from(events)
        .where(and(eq(events.id, emails.eventId), isNull(events.relayedAt)));
      const emailsGone = await drain(
        emails,
        and(
          lt(emails.createdAt, before),
          inArray(emails.status, ["sent", "skipped", "failed"]),
          not(exists(unrelayedEvent)),
        ),
      );
      return { events: eventsGone, syncRuns: syncRunsGone, emails: emailsGone };
    },

    /**
     * Deletes hourly usage of hours before `before`; returns how many rows went. The monthly totals
     * (quotas, the series' months) are kept apart and stay. Network by network, in batches along the
     * (network, hour) index, so no batch scans the whole table.
     */
    async pruneUsageHours(before: Date): Promise<number> {
      let total = 0;
      for (const { id } of await db.select({ id: networks.id }).from(networks)) {
        for (;;) {
          const batch = db
            .select({ row: sql`ctid` })
            .from(usageHourly)
            .where(and(eq(usageHourly.networkId, id), lt(usageHourly.hour, before)))
            .limit(batchSize);
          const gone = await db
            .delete(usageHourly)
            .where(sql`ctid = any(array(${batch}))`)
            .returning({ hour: usageHourly.hour });
          total += gone.length;
          if (gone.length < batchSize) break;
        }
      }
      return total;
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;
