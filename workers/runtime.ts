/**
 * Starts one BullMQ `Worker` per served queue and stops them gracefully: `close()` lets in-flight jobs
 * finish within a deadline, then aborts their signals so long ones hand their job back to the queue
 * at their next checkpoint (another worker resumes it at once). A job that ignores its signal is left
 * behind when the deadline passes; BullMQ's stall check gives it to another worker once its lock
 * expires. Logs each failure once, here.
 */

import type { Job } from "bullmq";
import { DelayedError, WaitingError, Worker } from "bullmq";
import type { ProgressMonitor } from "../src/health/index.js";
import type { Logger } from "../src/logger.js";
import { F } from "../src/logger.js";
import type { Metrics } from "../src/metrics/index.js";
import type { QueueName, Redis } from "../src/queue/index.js";

/**
 * Processes one job. `token` is the lock token (to hand the job back with `job.moveToWait(token)`);
 * `signal` is aborted when the worker shuts down.
 */
export type Processor = (
  job: Job,
  token: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<unknown>;

export interface RuntimeOptions {
  queues: readonly QueueName[];
  processors: Partial<Record<QueueName, Processor>>;
  connection: Redis;
  prefix: string;
  concurrency: Partial<Record<QueueName, number>> & { default: number };
  logger: Logger;
  metrics?: Metrics;
  /**
   * How long a job's lock lasts without renewal: a killed worker's jobs return to the queue about
   * this long after it died. BullMQ's default (30 s) unless set.
   */
  lockDurationMs?: number;
  /** Hears of every job's start and end, so a job that never ends marks the worker unhealthy. */
  progress?: ProgressMonitor;
  /** Further queues served by one of the queues' processors (a hub host's own peer-sync queue). */
  extraQueues?: readonly { name: string; processorOf: QueueName }[];
}

export interface WorkerRuntime {
  readonly workers: ReadonlyMap<string, Worker>;
  /** True when every worker runs and its connection is up. */
  isHealthy(): boolean;
  /**
   * Stops taking jobs and waits for in-flight ones; in the last `HAND_BACK_MS` of `timeoutMs` it aborts
   * their signals. `forced` is true when some job was still running at the deadline (left to the
   * stall check).
   */
  close(timeoutMs?: number): Promise<{ forced: boolean }>;
}

const SECOND_MS = 1_000;
export const CLOSE_TIMEOUT_MS = 10 * SECOND_MS;
/** The part of the close timeout that aborted jobs get to reach a checkpoint and hand their job back. */
const HAND_BACK_MS = 2 * SECOND_MS;

export function startWorkers(options: RuntimeOptions): WorkerRuntime {
  const workers = new Map<string, Worker>();
  const served: { queue: string; processorOf: QueueName }[] = [
    ...options.queues.map((queue) => ({ queue, processorOf: queue })),
    ...(options.extraQueues ?? []).map((e) => ({ queue: e.name, processorOf: e.processorOf })),
  ];
  for (const { queue, processorOf } of served) {
    const processor = options.processors[processorOf];
    if (!processor) {
      options.logger.warn({ [F.queue]: queue }, "no processor for queue; not serving it");
      continue;
    }
    const log = options.logger.child({ [F.component]: "worker", [F.queue]: queue });
    const worker = new Worker(
      queue,
      // IMPORTANT: BullMQ passes the abort signal only to a function declaring three parameters.
      async (job, token, signal) => {
        const started = performance.now();
        const end = options.progress?.begin(`${queue} job`);
        try {
          const result = await processor(job, token, signal);
          options.metrics?.jobsProcessed.inc({ queue, job: job.name, outcome: "completed" });
          return result;
        } catch (err) {
          // A job handed back to the queue (shutdown) did not fail: it runs again elsewhere.
          const outcome =
            err instanceof WaitingError ? "requeued" : err instanceof DelayedError ? "delayed" : "failed";
          options.metrics?.jobsProcessed.inc({ queue, job: job.name, outcome });
          throw err;
        } finally {
          end?.();
          options.metrics?.jobDuration.observe(
            { queue, job: job.name },
            (performance.now() - started) / 1000,
          );
        }
      },
      {
        connection: options.connection,
        prefix: options.prefix,
        concurrency: options.concurrency[processorOf] ?? options.concurrency.default,
        autorun: true,
        ...(options.lockDurationMs
          ? { lockDuration: options.lockDurationMs, stalledInterval: Math.ceil(options.lockDurationMs / 2) }
          : {}),
      },
    );
    worker.on("failed", (job, err) => {
      const fields = { [F.jobId]: job?.id, job: job?.name, attemptsMade: job?.attemptsMade, err };
      if (job && job.attemptsMade < (job.opts.attempts ?? 1)) log.warn(fields, "job failed; will retry");
      else log.error(fields, "job failed");
    });
    worker.on("error", (err) => log.error({ err }, "worker error"));
    worker.on("stalled", (jobId) => log.warn({ [F.jobId]: jobId }, "job stalled; returned to the queue"));
    workers.set(queue, worker);
  }

  return {
    workers,
    isHealthy() {
      return [...workers.values()].every((w) => w.isRunning() && !w.closing);
    },
    async close(timeoutMs = CLOSE_TIMEOUT_MS) {
      // Foot-gun: a second `worker.close(true)` returns the first call's promise, so a graceful close
      // cannot be turned into a forced one later. Abort the jobs instead, and stop waiting at the deadline.
      const closed = Promise.all([...workers.values()].map((w) => w.close()));
      const handBackMs = Math.min(HAND_BACK_MS, timeoutMs);
      if (await finishesWithin(closed, timeoutMs - handBackMs)) return { forced: false };
      for (const w of workers.values()) w.cancelAllJobs("worker shutting down");
      return { forced: !(await finishesWithin(closed, handBackMs)) };
    },
  };
}

/** True when `promise` settles within `ms` (its rejection counts as settled: the worker reports it). */
async function finishesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = promise.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([done, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
