import type { Job } from "bullmq";
import { DelayedError, UnrecoverableError } from "bullmq";
import type { EmailService } from "../../src/notify/index.js";
import { EmailPayload } from "../../src/queue/index.js";

/**
 * Sends one outbox email. The row is the truth and its id the Resend idempotency key, so a duplicate
 * or retried job never sends twice. A retry the service asks for moves the job to delayed.
 */
export async function processEmail(job: Job, token: string | undefined, deps: { emails: EmailService }) {
  const parsed = EmailPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid send-email payload: ${parsed.error.message}`);
  const outcome = await deps.emails.send(parsed.data.outboxId);
  if (outcome.status === "retry") {
    await job.moveToDelayed(outcome.retryAt.getTime(), token);
    throw new DelayedError();
  }
  return outcome;
}
