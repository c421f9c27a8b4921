import type { JobsOptions } from "bullmq";
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { JobName, JobPayload } from "./jobs.js";
import { JOBS } from "./jobs.js";
import type { QueueName } from "./names.js";
import { QUEUE_NAMES } from "./names.js";
import type { Priority } from "./priorities.js";
import { toBullPriority } from "./priorities.js";

const SECOND_MS = 1_000;
const DAY_SECONDS = 24 * 60 * 60;
/** Longest a queue operation may take before the caller is told Redis is unavailable. */
const OPERATION_TIMEOUT_MS = 5 * SECOND_MS;
/** ioredis states in which the connection is known to be down (between reconnect attempts, or closed). */
const DOWN_STATES = new Set(["reconnecting", "close", "end"]);

export interface EnqueueOptions {
  priority: Priority;
  /** Deterministic id: adding a job whose id exists is a no-op. */
  jobId?: string;
  delayMs?: number;
  /** Coalesce with a waiting job of the same key; while one is active, keep the newest for afterwards. */
  coalesceKey?: string;
  attempts?: number;
  /**
   * The queue to add to instead of the job's own: a hub host's peer-sync queue (`hubQueueName`), so
   * that only that host takes the job.
   */
  queue?: string;
}

export type JobState = "waiting" | "active" | "delayed" | "prioritized" | "completed" | "failed" | "unknown";

/** The queue port: what services need from BullMQ, and nothing more. */
export interface JobQueue {
  /** Validates the payload against its schema and adds the job; returns the job id. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options: EnqueueOptions): Promise<string>;
  /** Removes a job that is not running. Returns false when it is running (locked) or gone. */
  remove(queue: QueueName, jobId: string): Promise<boolean>;
  /** The job's state, or undefined when no such job exists. */
  state(queue: QueueName, jobId: string): Promise<JobState | undefined>;
  /**
   * Adds a one-off job and waits for a worker to finish it; resolves with its return value. Rejects
   * with the job's error, or when no worker finished it within `timeoutMs` (the job is then removed).
   */
  runAndWait<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: { priority: Priority; timeoutMs: number; queue?: string },
  ): Promise<unknown>;
}

/** The peer-sync queue of one hub host: only the worker of that host (`HUB_ID`) takes its jobs. */
export const hubQueueName = (hubId: string) => `peer-sync.${hubId}`;

/** Default retry policy: exponential backoff, bounded history so Redis does not grow forever. */
const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 2 * SECOND_MS },
  removeOnComplete: { age: DAY_SECONDS, count: 1_000 },
  removeOnFail: { age: 7 * DAY_SECONDS, count: 5_000 },
};

/**
 * The four BullMQ queues, sharing one producer connection. Every operation fails within
 * `OPERATION_TIMEOUT_MS` while Redis is down. Foot-gun: BullMQ waits for a connection's first 'ready'
 * with no limit, so without this a request made while Redis was never reachable hung forever.
 */
export class BullJobQueue implements JobQueue {
  readonly queues: Readonly<Record<QueueName, Queue>>;
  private readonly connection: Redis;
  private readonly prefix: string;
  private readonly events = new Map<string, QueueEvents>();
  /** Hub hosts' peer-sync queues, opened on first use. */
  private readonly hubQueues = new Map<string, Queue>();
  private readonly eventsConnection: (() => Redis) | undefined;

  /** `eventsConnection` opens the blocking connection `runAndWait` listens on (created on first use). */
  constructor(connection: Redis, prefix: string, eventsConnection?: () => Redis) {
    this.connection = connection;
    this.prefix = prefix;
    this.eventsConnection = eventsConnection;
    const entries = QUEUE_NAMES.map((name) => {
      const queue = new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      // Connection errors surface in the health check and in the operations that fail; without a
      // listener BullMQ prints each reconnect attempt's error to stderr, outside the log.
      queue.on("error", () => {});
      return [name, queue] as const;
    });
    this.queues = Object.freeze(Object.fromEntries(entries) as Record<QueueName, Queue>);
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: EnqueueOptions,
  ): Promise<string> {
    const spec = JOBS[name];
    const data = spec.payload.parse(payload);
    const target = this.target(options.queue ?? spec.queue);
    const job = await this.bounded(`adding ${name}`, () =>
      target.add(name, data, {
        priority: toBullPriority(options.priority),
        ...(options.jobId ? { jobId: options.jobId } : {}),
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        ...(options.attempts ? { attempts: options.attempts } : {}),
        ...(options.coalesceKey
          ? { deduplication: { id: options.coalesceKey, keepLastIfActive: true } }
          : {}),
      }),
    );
    return job.id ?? options.jobId ?? "";
  }

  async remove(queue: QueueName, jobId: string): Promise<boolean> {
    const job = await this.bounded(`reading job ${jobId}`, () => this.queues[queue].getJob(jobId));
    if (!job) return false;
    try {
      await this.bounded(`removing job ${jobId}`, () => job.remove());
      return true;
    } catch {
      // A locked (active) job cannot be removed; the caller falls back to the cancel flag.
      return false;
    }
  }

  async state(queue: QueueName, jobId: string): Promise<JobState | undefined> {
    return this.bounded(`reading job ${jobId}`, async () => {
      const job = await this.queues[queue].getJob(jobId);
      if (!job) return undefined;
      return (await job.getState()) as JobState;
    });
  }

  async runAndWait<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    options: { priority: Priority; timeoutMs: number; queue?: string },
  ): Promise<unknown> {
    const spec = JOBS[name];
    if (!this.eventsConnection) throw new Error("this queue was built without an events connection");
    const queueName = options.queue ?? spec.queue;
    let events = this.events.get(queueName);
    if (!events) {
      events = new QueueEvents(queueName, { connection: this.eventsConnection(), prefix: this.prefix });
      events.on("error", () => {});
      this.events.set(queueName, events);
      await this.bounded("listening for job events", () => events!.waitUntilReady());
    }
    const data = spec.payload.parse(payload);
    const target = this.target(queueName);
    const job = await this.bounded(`adding ${name}`, () =>
      target.add(name, data, {
        priority: toBullPriority(options.priority),
        attempts: 1,
        // Kept a minute, so a result that lands before we listen can still be read from the job.
        removeOnComplete: { age: 60 },
        removeOnFail: { age: 60 },
      }),
    );
    try {
      return await job.waitUntilFinished(events, options.timeoutMs);
    } catch (err) {
      await job.remove().catch(() => {});
      throw err;
    }
  }

  /** The peer-sync queue of hub host `hubId` (opened on first use), for reading its jobs. */
  hubQueue(hubId: string): Queue {
    return this.target(hubQueueName(hubId));
  }

  /** One of the four queues, or a hub host's peer-sync queue (opened on first use). */
  private target(name: string): Queue {
    if ((QUEUE_NAMES as readonly string[]).includes(name)) return this.queues[name as QueueName];
    let queue = this.hubQueues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      });
      queue.on("error", () => {});
      this.hubQueues.set(name, queue);
    }
    return queue;
  }

  /** Runs a queue operation, failing at once while Redis is known down and after a timeout otherwise. */
  private async bounded<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (DOWN_STATES.has(this.connection.status)) {
      throw new Error(`redis is unavailable (${this.connection.status}) while ${what}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const pending = operation();
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`redis did not answer within ${OPERATION_TIMEOUT_MS} ms while ${what}`)),
            OPERATION_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      // An operation left behind finishes (or fails) when Redis answers; nobody awaits it any more.
      pending.catch(() => {});
    }
  }

  /** Closes the queues (not the shared connection, which its owner closes). */
  async close(): Promise<void> {
    await Promise.all([...this.events.values()].map((e) => e.close()));
    await Promise.all([...Object.values(this.queues), ...this.hubQueues.values()].map((q) => q.close()));
  }
}
