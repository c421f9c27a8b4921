/**
 * Queue triggers of the notify jobs. Job ids are deterministic (`jobIds.webhook`, `jobIds.email`), so
 * enqueuing twice makes one job. Triggers only say "look at this row": the row is the truth.
 */
import type { JobQueue } from "../queue/index.js";
import { jobIds } from "../queue/index.js";

export type TriggerKind = "webhook" | "email";

/**
 * Queues the job of a delivery or an email, `delayMs` from now. When a finished job of that id is
 * still kept in Redis (completed or failed), it is removed first, so the row is looked at again.
 * Returns false when the job is already waiting, delayed or active (nothing to do).
 */
export async function trigger(queue: JobQueue, kind: TriggerKind, id: string, delayMs = 0): Promise<boolean> {
  const queueName = kind === "webhook" ? "webhook" : "email";
  const jobId = kind === "webhook" ? jobIds.webhook(id) : jobIds.email(id);
  const state = await queue.state(queueName, jobId);
  if (state === "completed" || state === "failed" || state === "unknown")
    await queue.remove(queueName, jobId);
  else if (state !== undefined) return false;
  const options = { jobId, ...(delayMs > 0 ? { delayMs: Math.ceil(delayMs) } : {}) };
  if (kind === "webhook")
    await queue.enqueue("deliver-webhook", { deliveryId: id }, { ...options, priority: "low" });
  else await queue.enqueue("send-email", { outboxId: id }, { ...options, priority: "default" });
  return true;
}

/** Queues a trigger for a freshly committed row without looking for an older job (one round trip). */
export async function triggerNew(queue: JobQueue, kind: TriggerKind, id: string): Promise<void> {
  if (kind === "webhook") {
    await queue.enqueue(
      "deliver-webhook",
      { deliveryId: id },
      { jobId: jobIds.webhook(id), priority: "low" },
    );
  } else {
    await queue.enqueue("send-email", { outboxId: id }, { jobId: jobIds.email(id), priority: "default" });
  }
}
