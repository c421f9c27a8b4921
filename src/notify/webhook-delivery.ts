/**
 * Delivery of one webhook delivery: under a lease and the webhook's in-flight bound, one send, the
 * attempt recorded, the delivery settled (delivered, failed, or pending with its next attempt), and
 * the webhook's failure streak counted, disabling it after a 404 or `maxFailures` in a row.
 */
import type { Db, Executor } from "../db/index.js";
import { transaction } from "../db/index.js";
import { insertEvent } from "../events/index.js";
import type { WebhookRow } from "./notify.repo.js";
import * as repo from "./notify.repo.js";
import type { DeliverOutcome, WebhookPolicy } from "./webhook-attempt.js";
import { judgeAttempt } from "./webhook-attempt.js";
import type { WebhookSender } from "./webhook-sender.js";
import { excerpt } from "./webhook-views.js";

const SECOND_MS = 1_000;
/** A lease outlives the request timeout by this much, so a slow send is never sent twice at once. */
export const LEASE_MARGIN_MS = 5 * SECOND_MS;
/**
 * How long a delivery whose webhook is at its in-flight bound waits before it looks again, jittered
 * so that a backlog does not come back all at once.
 */
const BUSY_RETRY_MS = { min: 250, max: SECOND_MS };

/** The `deliver` step of one webhook service (see `deliver` below for its contract). */
export function createWebhookDelivery(deps: { db: Db; policy: WebhookPolicy; sender: WebhookSender }) {
  const { db, policy, sender } = deps;

  /** Disables a webhook and records `webhook.disabled` in the same transaction (once, whoever wins). */
  async function disable(exec: Executor, webhook: WebhookRow, reason: string): Promise<void> {
    const disabled = await repo.disableWebhook(exec, webhook.id, reason);
    if (!disabled) return;
    await insertEvent(exec, {
      type: "webhook.disabled",
      data: { webhook: { id: webhook.id, name: webhook.name, type: webhook.type }, reason },
    });
  }

  /**
   * Processes one delivery: sends it once (under a lease, so no two workers send it at once, and
   * only while fewer than `maxInFlight` deliveries of its webhook are leased; otherwise it asks to
   * be retried shortly without counting an attempt),
   * records the attempt, and settles it as delivered, failed, or pending with its next attempt
   * time. A duplicate job finds the delivery settled and does nothing. Counts failures on the
   * webhook and disables it (emitting `webhook.disabled`) after a 404 or `maxFailures` in a row.
   * Throws only when the database fails (the job then retries).
   */
  async function deliver(deliveryId: string, now = new Date()): Promise<DeliverOutcome> {
    const bundle = await repo.getDeliveryBundle(db, deliveryId);
    if (!bundle) return { status: "skipped", note: "delivery is gone" };
    const { delivery, webhook, event } = bundle;
    if (delivery.status !== "pending") return { status: "skipped", note: `already ${delivery.status}` };
    if (!webhook.enabled) {
      await repo.cancelDelivery(
        db,
        deliveryId,
        `webhook disabled: ${webhook.disabledReason ?? "by an admin"}`,
      );
      return { status: "cancelled" };
    }
    if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > now.getTime() + 50) {
      return { status: "retry", retryAt: delivery.nextAttemptAt, note: "not due yet" };
    }
    const claimed = await transaction(db, (tx) =>
      repo.claimDelivery(tx, deliveryId, policy.timeoutMs + LEASE_MARGIN_MS, {
        webhookId: webhook.id,
        maxInFlight: policy.maxInFlight,
      }),
    );
    if (claimed === "busy") {
      const waitMs = BUSY_RETRY_MS.min + Math.random() * (BUSY_RETRY_MS.max - BUSY_RETRY_MS.min);
      return {
        status: "retry",
        retryAt: new Date(Date.now() + waitMs),
        note: `${policy.maxInFlight} deliveries of this webhook in flight`,
      };
    }
    if (!claimed) {
      const current = await repo.getDelivery(db, deliveryId);
      if (current?.status !== "pending")
        return { status: "skipped", note: `already ${current?.status ?? "gone"}` };
      return {
        status: "retry",
        retryAt: current.leasedUntil ?? new Date(Date.now() + SECOND_MS),
        note: "leased",
      };
    }

    const startedAt = new Date();
    const result = await sender.send(webhook, event, deliveryId);
    const verdict = judgeAttempt(result, claimed.attempts, policy, Date.now());
    const statusCode = result.kind === "response" ? result.status : null;
    const body = result.kind === "response" ? excerpt(result.body) : null;
    const retryAt = verdict.retryInMs !== undefined ? new Date(Date.now() + verdict.retryInMs) : undefined;

    await transaction(db, async (tx) => {
      await repo.insertAttempt(tx, {
        deliveryId,
        startedAt,
        durationMs: result.durationMs,
        statusCode,
        outcome: verdict.outcome,
        error: verdict.error,
        responseExcerpt: body,
      });
      await repo.settleDelivery(tx, deliveryId, {
        status: verdict.outcome === "delivered" ? "delivered" : retryAt ? "pending" : "failed",
        lastStatusCode: statusCode,
        lastError: verdict.error,
        responseExcerpt: body,
        nextAttemptAt: retryAt ?? null,
        deliveredAt: verdict.outcome === "delivered" ? new Date() : null,
      });
      if (verdict.outcome === "delivered") await repo.resetFailures(tx, webhook.id);
      // For the live stream only (never relayed, so a failing webhook never hears of its failures).
      else
        await insertEvent(tx, {
          type: "delivery.failed",
          data: {
            webhook: { id: webhook.id, name: webhook.name, type: webhook.type },
            delivery: {
              id: deliveryId,
              eventType: event.type,
              attempt: claimed.attempts,
              statusCode,
              error: verdict.error,
              willRetry: retryAt !== undefined,
            },
          },
        });
      if (verdict.disableReason) await disable(tx, webhook, verdict.disableReason);
      else if (verdict.isFailure) {
        const streak = await repo.addFailure(tx, webhook.id);
        if (streak >= policy.maxFailures) {
          await disable(
            tx,
            webhook,
            `${streak} consecutive failed attempts; last: ${verdict.error ?? "unknown"}`,
          );
        }
      }
    });
    if (verdict.outcome === "delivered") return { status: "delivered" };
    if (retryAt) return { status: "retry", retryAt, note: verdict.error ?? undefined };
    return { status: "failed", note: verdict.error ?? undefined };
  }

  return deliver;
}
