import type { Db } from "../db/index.js";
import { transaction } from "../db/index.js";
import type { JobQueue } from "../queue/index.js";
import { emailsForEvent, webhookMatches } from "./fan-out.js";
import * as repo from "./notify.repo.js";
import type { TriggerKind } from "./triggers.js";
import { trigger, triggerNew } from "./triggers.js";

export interface RelayOptions {
  /** Events moved per transaction. */
  batchSize: number;
  /** A pending row is presumed to have lost its job once it is this overdue. */
  sweepGraceMs: number;
  /** Who gets `sync-failed` and `node-offline` emails. */
  alertRecipients: readonly string[];
}

export interface RelayDeps {
  db: Db;
  queue: JobQueue;
  options: RelayOptions;
}

export interface RelayResult {
  /** Events fanned out. */
  events: number;
  deliveries: number;
  emails: number;
  /** Deliveries and emails whose job was lost and that were queued again. */
  requeued: number;
  /** Triggers that could not be queued (Redis down); the next run retries them. */
  enqueueFailures: number;
}

const SWEEP_LIMIT = 1_000;

export type Relay = ReturnType<typeof createRelay>;

/**
 * The relay: moves outbox events to webhook deliveries and emails, and keeps every pending row
 * backed by a queued job. Level-triggered: Postgres is the truth, Redis only holds triggers, so
 * running it again, in several processes at once, or after a Redis flush is always safe.
 */
export function createRelay(deps: RelayDeps) {
  const { db, queue, options } = deps;

  async function enqueueAll(kind: TriggerKind, ids: string[]): Promise<number> {
    const results = await Promise.allSettled(ids.map((id) => triggerNew(queue, kind, id)));
    return results.filter((r) => r.status === "rejected").length;
  }

  /**
   * Fans out one batch of unrelayed events in one transaction: a delivery for every enabled
   * webhook that matches, the emails the event causes, and `relayed_at`. Rows locked by another
   * relay are skipped. After commit, queues a job per new row (a failure here is counted, and
   * repaired by the sweep). Returns what it did.
   */
  async function relayBatch(): Promise<RelayResult> {
    // Counted by the after-commit tasks, which `transaction` awaits before it returns.
    let failures = 0;
    const created = await transaction(db, async (tx, afterCommit) => {
      const batch = await repo.lockUnrelayed(tx, options.batchSize);
      if (batch.length === 0) return { events: 0, deliveries: [] as string[], emails: [] as string[] };
      const hooks = await repo.enabledWebhooks(tx);
      const pairs = batch.flatMap((e) =>
        hooks.filter((w) => webhookMatches(w, e)).map((w) => ({ webhookId: w.id, eventId: e.id })),
      );
      const mails = batch.flatMap((e) =>
        emailsForEvent(e, { alertRecipients: options.alertRecipients }).map((m) => ({ ...m, eventId: e.id })),
      );
      const deliveries = await repo.insertDeliveries(tx, pairs);
      const emails = await repo.insertEventEmails(tx, mails);
      await repo.markRelayed(
        tx,
        batch.map((e) => e.id),
      );
      // IMPORTANT: not `failures += await …`: that reads `failures` before awaiting, so of two tasks
      // running at once the one that finished last overwrote the other's count.
      afterCommit(async () => {
        const failed = await enqueueAll("webhook", deliveries);
        failures += failed;
      });
      afterCommit(async () => {
        const failed = await enqueueAll("email", emails);
        failures += failed;
      });
      return { events: batch.length, deliveries, emails };
    });
    return {
      events: created.events,
      deliveries: created.deliveries.length,
      emails: created.emails.length,
      requeued: 0,
      enqueueFailures: failures,
    };
  }

  /**
   * Queues again every pending delivery and queued email that is overdue by `sweepGraceMs` and has
   * no waiting, delayed or active job (lost in a Redis flush, or failed while the row stayed
   * pending). Returns how many it queued.
   */
  async function sweep(now = new Date()): Promise<{ requeued: number; enqueueFailures: number }> {
    const before = new Date(now.getTime() - options.sweepGraceMs);
    const [deliveries, emails] = await Promise.all([
      repo.overdueDeliveries(db, before, SWEEP_LIMIT),
      repo.overdueEmails(db, before, SWEEP_LIMIT),
    ]);
    const work = [
      ...deliveries.map((d) => ["webhook", d] as const),
      ...emails.map((e) => ["email", e] as const),
    ];
    const results = await Promise.allSettled(
      work.map(([kind, row]) =>
        trigger(queue, kind, row.id, row.nextAttemptAt ? row.nextAttemptAt.getTime() - now.getTime() : 0),
      ),
    );
    return {
      requeued: results.filter((r) => r.status === "fulfilled" && r.value).length,
      enqueueFailures: results.filter((r) => r.status === "rejected").length,
    };
  }

  return {
    relayBatch,
    sweep,

    /** Relays until no unrelayed event is left, then sweeps. Throws when the database fails. */
    async run(): Promise<RelayResult> {
      const total: RelayResult = { events: 0, deliveries: 0, emails: 0, requeued: 0, enqueueFailures: 0 };
      for (;;) {
        const r = await relayBatch();
        total.events += r.events;
        total.deliveries += r.deliveries;
        total.emails += r.emails;
        total.enqueueFailures += r.enqueueFailures;
        if (r.events < options.batchSize) break;
      }
      const swept = await sweep();
      total.requeued = swept.requeued;
      total.enqueueFailures += swept.enqueueFailures;
      return total;
    },
  };
}
