/**
 * Queue depths as BullMQ reports them: job counts per state, the oldest job still waiting to start,
 * and the workers connected. A bounded number of Redis commands per queue, whatever the queue holds.
 */
import type { Queue } from "bullmq";
import type { QueueName, Redis } from "../queue/index.js";
import { PRIORITIES, toBullPriority } from "../queue/index.js";

/** The job states reported per queue, as BullMQ names them. */
export const QUEUE_JOB_STATES = [
  "waiting",
  "prioritized",
  "active",
  "delayed",
  "waiting-children",
  "completed",
  "failed",
] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

export interface QueueDepth<N extends string = QueueName> {
  queue: N;
  counts: Record<QueueJobState, number>;
  /** When the oldest job waiting to start (waiting or prioritized) was added; null when none waits. */
  oldestWaitingAt: Date | null;
  /** Workers connected to this queue (BullMQ names their connections). */
  workers: number;
}

/** Foot-gun: BullMQ scores a prioritized job `priority * 2^32 + counter`; the counter orders each level. */
const PRIORITY_SCORE_STEP = 0x100000000;

/**
 * The oldest job waiting to start: the tail of the wait list (jobs without a priority) and the head of
 * each priority level of the prioritized set (wiresync gives every job one of three levels), so a
 * starved low-priority job is found however many urgent ones wait ahead of it.
 */
async function oldestWaiting(queue: Queue, redis: Redis): Promise<Date | null> {
  const candidates = await queue.getJobs(["wait"], 0, 0, true);
  for (const priority of PRIORITIES) {
    const level = toBullPriority(priority);
    const [id] = await redis.zrangebyscore(
      queue.keys.prioritized!,
      level * PRIORITY_SCORE_STEP,
      (level + 1) * PRIORITY_SCORE_STEP - 1,
      "LIMIT",
      0,
      1,
    );
    const job = id === undefined ? undefined : await queue.getJob(id);
    if (job) candidates.push(job);
  }
  const times = candidates.map((j) => j.timestamp).filter((t) => Number.isFinite(t));
  return times.length > 0 ? new Date(Math.min(...times)) : null;
}

/** Reads one queue's depth. Throws when Redis fails. */
export async function readQueueDepth<N extends string>(
  name: N,
  queue: Queue,
  redis: Redis,
): Promise<QueueDepth<N>> {
  const [raw, oldestWaitingAt, workers] = await Promise.all([
    queue.getJobCounts(...QUEUE_JOB_STATES),
    oldestWaiting(queue, redis),
    queue.getWorkersCount(),
  ]);
  const counts = Object.fromEntries(QUEUE_JOB_STATES.map((s) => [s, raw[s] ?? 0])) as Record<
    QueueJobState,
    number
  >;
  return { queue: name, counts, oldestWaitingAt, workers };
}

/** Longest a reading of the queues may take before it is given up (a scrape must not hang). */
export const QUEUE_READ_TIMEOUT_MS = 3_000;
/** ioredis states in which the connection is known to be down. */
const DOWN_STATES = new Set(["reconnecting", "close", "end"]);

/**
 * Reads every queue's depth, in the order given. Throws when Redis fails, is known to be down, or
 * does not answer within `timeoutMs`. Foot-gun: BullMQ waits for a connection's first 'ready' with no
 * limit, so without the timeout a stats request or a scrape made while Redis was never reachable
 * would hang forever.
 */
export async function readQueueDepths<N extends string = QueueName>(
  queues: Readonly<Record<N, Queue>>,
  redis: Redis,
  timeoutMs = QUEUE_READ_TIMEOUT_MS,
): Promise<QueueDepth<N>[]> {
  if (DOWN_STATES.has(redis.status)) throw new Error(`redis is unavailable (${redis.status})`);
  const reading = Promise.all(
    (Object.entries(queues) as [N, Queue][]).map(([name, queue]) => readQueueDepth(name, queue, redis)),
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      reading,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    // A reading left behind settles when Redis answers; nobody awaits it any more.
    reading.catch(() => {});
  }
}
