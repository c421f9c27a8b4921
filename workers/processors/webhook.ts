import type { Job } from "bullmq";
import { DelayedError, UnrecoverableError } from "bullmq";
import type { WebhookService } from "../../src/notify/index.js";
import { WebhookPayload } from "../../src/queue/index.js";

/**
 * Delivers one webhook delivery. The delivery's row is the truth: a duplicate job finds it settled
 * and stops. When the service asks to retry later, the job is moved to delayed until then (BullMQ's
 * own attempts stay for crashes and database errors).
 */
export async function processWebhook(
  job: Job,
  token: string | undefined,
  deps: { webhooks: WebhookService },
) {
  const parsed = WebhookPayload.safeParse(job.data);
  if (!parsed.success)
    throw new UnrecoverableError(`invalid deliver-webhook payload: ${parsed.error.message}`);
  const outcome = await deps.webhooks.deliver(parsed.data.deliveryId);
  if (outcome.status === "retry") {
    await job.moveToDelayed(outcome.retryAt.getTime(), token);
    throw new DelayedError();
  }
  return outcome;
}
