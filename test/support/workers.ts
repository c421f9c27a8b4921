/**
 * Real BullMQ workers for a test platform, in this process: the production processors
 * (`buildProcessors`) on the platform's own Redis prefix. Close them before the platform.
 */
import type { Platform } from "../../src/platform.js";
import type { QueueName } from "../../src/queue/index.js";
import { QUEUE_NAMES } from "../../src/queue/index.js";
import { buildProcessors } from "../../workers/processors/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { startWorkers } from "../../workers/runtime.js";

export interface TestWorkersOptions {
  queues?: readonly QueueName[];
  concurrency?: number;
}

function start(platform: Platform, queues: readonly QueueName[], concurrency: number): WorkerRuntime {
  return startWorkers({
    queues,
    processors: buildProcessors(platform),
    connection: platform.workerConnection(),
    prefix: platform.redisPrefix,
    concurrency: { default: concurrency },
    logger: platform.logger,
    metrics: platform.metrics,
  });
}

/** Starts workers for `platform` and waits until each is connected and taking jobs. */
export async function startTestWorkers(
  platform: Platform,
  options: TestWorkersOptions = {},
): Promise<WorkerRuntime> {
  const runtime = start(platform, options.queues ?? QUEUE_NAMES, options.concurrency ?? 2);
  await Promise.all([...runtime.workers.values()].map((w) => w.waitUntilReady()));
  return runtime;
}

/** Runs the notify workers (webhook and email queues) at once, without waiting for them. */
export function startNotifyWorkers(
  platform: Platform,
  queues: QueueName[] = ["webhook", "email"],
  concurrency = 4,
): WorkerRuntime {
  return start(platform, queues, concurrency);
}
