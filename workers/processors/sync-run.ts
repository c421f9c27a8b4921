import type { Job } from "bullmq";
import { UnrecoverableError, WaitingError } from "bullmq";
import { SyncRunPayload } from "../../src/queue/index.js";
import type { SyncService, TaskHandlers } from "../../src/sync/index.js";

export interface SyncRunDeps {
  sync: SyncService;
  handlers: TaskHandlers;
}

export interface JobControl {
  /** The worker's lock token of this job. */
  token: string | undefined;
  /** Aborted when the worker shuts down. */
  signal: AbortSignal | undefined;
}

/**
 * Runs one sync run. The run's record is the truth: a duplicate or late job finds it finished and stops.
 * When the worker shuts down mid-run, the run goes back to PENDING and its job back to the queue, so the
 * next worker resumes it at once; throws `WaitingError` then, which BullMQ takes as "moved, not failed".
 */
export async function processSyncRun(job: Job, deps: SyncRunDeps, control: JobControl) {
  const parsed = SyncRunPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid sync-run payload: ${parsed.error.message}`);
  const { syncRunId } = parsed.data;
  let run: Awaited<ReturnType<SyncService["executeRun"]>>;
  try {
    run = await deps.sync.executeRun(syncRunId, deps.handlers, { signal: control.signal });
  } catch (err) {
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      await deps.sync
        .failRun(syncRunId, `failed after ${attempts} attempts: ${(err as Error).message}`)
        .catch(() => {});
    }
    throw err;
  }
  if (run?.status === "PENDING") {
    await job.moveToWait(control.token);
    throw new WaitingError("sync run handed back to the queue: the worker is shutting down");
  }
  return run
    ? { status: run.status, itemsSynced: run.itemsSynced, itemsFailed: run.itemsFailed }
    : { status: "skipped" };
}
