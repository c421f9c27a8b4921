import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { ResealService } from "../../src/backup/index.js";
import { ResealPayload } from "../../src/queue/index.js";

/**
 * Re-seals every secret at rest under the current key. A retry (or a new job) continues where this
 * one stopped: the database says what is left. Returns the counts per table.
 */
export async function processReseal(job: Job, deps: { reseal: ResealService }, signal?: AbortSignal) {
  const parsed = ResealPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid reseal payload: ${parsed.error.message}`);
  return deps.reseal.run({
    ...(signal ? { signal } : {}),
    onBatch: (tables) => {
      void job.updateProgress(tables).catch(() => {});
    },
  });
}
