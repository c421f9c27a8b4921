/**
 * The job pipeline against bare BullMQ with the same job options, rounds interleaved:
 * - throughput of config-push jobs through our queue port (`enqueue`: payload validated, bounded
 *   by the Redis timeout) and our worker runtime (metrics, failure logging) against a bare `Queue.add`
 *   and a bare `Worker`, both running the same processor;
 * - a mesh change's config fan-out to n − 1 nodes (`dispatchEffects`) against one `addBulk` of the
 *   same jobs.
 *
 *   npm run bench -- queue              (Postgres, Redis)
 */
import { randomUUID } from "node:crypto";
import type { Job } from "bullmq";
import { Queue, Worker } from "bullmq";
import { dispatchEffects, newEffects } from "../../src/mesh/index.js";
import { ConfigPushPayload, jobIds, toBullPriority } from "../../src/queue/index.js";
import { startWorkers } from "../../workers/runtime.js";
import type { BenchOptions, BenchRow } from "./harness.js";
import { elapsedMs, interleave, pairedRow } from "./harness.js";
import { openWorld } from "./lab.js";

const CONCURRENCY = 4;

/** The processor both sides run: what every processor starts with (parse the payload). */
const processor = async (job: Job) => ConfigPushPayload.parse(job.data);

/** Resolves when `worker` has completed `count` more jobs. */
function completions(worker: Worker, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const onCompleted = () => {
      if (++done < count) return;
      worker.off("completed", onCompleted);
      worker.off("failed", onFailed);
      resolve();
    };
    const onFailed = (_job: unknown, err: Error) => reject(err);
    worker.on("completed", onCompleted);
    worker.on("failed", onFailed);
  });
}

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  const JOBS = options.quick ? 200 : 2_000;
  const FAN_OUT = options.quick ? 100 : 1_000;
  const ROUNDS = options.quick ? 5 : 9;
  const world = await openWorld({ interfaces: async () => [], minApplyIntervalMs: 0 });
  const { platform, prefix } = world;
  const ours = platform.queue;
  const oursQueue = ours.queues["config-push"];
  // The bare side: its own queue name, the same prefix, connection kind and default job options.
  const bareQueue = new Queue("bare-config-push", {
    connection: platform.redis,
    prefix,
    defaultJobOptions: oursQueue.defaultJobOptions,
  });
  const runtime = startWorkers({
    queues: ["config-push"],
    processors: { "config-push": processor },
    connection: platform.workerConnection(),
    prefix,
    concurrency: { default: CONCURRENCY },
    logger: platform.logger,
    metrics: platform.metrics,
  });
  const bareWorker = new Worker("bare-config-push", processor, {
    connection: platform.workerConnection(),
    prefix,
    concurrency: CONCURRENCY,
  });
  const out: BenchRow[] = [];
  try {
    const oursWorker = runtime.workers.get("config-push")!;
    await Promise.all([oursWorker.waitUntilReady(), bareWorker.waitUntilReady(), bareQueue.waitUntilReady()]);
    const priority = toBullPriority("default");
    let version = 0;

    options.log(`job pipeline: ${JOBS} jobs a round`);
    const throughput = async (addAll: (v: number) => Promise<unknown>, worker: Worker) => {
      const v = ++version;
      const finished = completions(worker, JOBS);
      const ms = await elapsedMs(async () => {
        await addAll(v);
        await finished;
      });
      return JOBS / (ms / 1000);
    };
    const nodeIds = Array.from({ length: Math.max(JOBS, FAN_OUT) }, () => randomUUID());
    const pipeline = await interleave(ROUNDS, {
      ours: () =>
        throughput(
          (v) =>
            Promise.all(
              nodeIds
                .slice(0, JOBS)
                .map((nodeId) =>
                  ours.enqueue(
                    "config-push",
                    { nodeId, version: v },
                    { priority: "default", jobId: jobIds.configPush(nodeId, v) },
                  ),
                ),
            ),
          oursWorker,
        ),
      base: () =>
        throughput(
          (v) =>
            Promise.all(
              nodeIds
                .slice(0, JOBS)
                .map((nodeId) =>
                  bareQueue.add(
                    "config-push",
                    { nodeId, version: v },
                    { priority, jobId: jobIds.configPush(nodeId, v) },
                  ),
                ),
            ),
          bareWorker,
        ),
    });
    out.push(
      pairedRow(
        {
          name: `job pipeline: ${JOBS} config-push jobs added and processed`,
          unit: "jobs/s",
          baselineName: "bare BullMQ Queue.add + Worker",
          target: { of: "ratio", compare: ">=", value: 0.8 },
          note: `same job options, priority, job ids, processor (payload parse) and concurrency (${CONCURRENCY}); timed from the first add to the last completion`,
        },
        pipeline,
      ),
    );

    // A mesh change announces a new config to every other node of the network.
    options.log(`config fan-out to ${FAN_OUT - 1} nodes`);
    await runtime.close();
    await bareWorker.close();
    const targets = nodeIds.slice(0, FAN_OUT - 1);
    const fanOut = await interleave(ROUNDS, {
      prepare: async () => {
        await oursQueue.obliterate({ force: true });
        await bareQueue.obliterate({ force: true });
      },
      ours: () =>
        elapsedMs(async () => {
          const v = ++version;
          const effects = newEffects("bench");
          for (const nodeId of targets) effects.pushConfigs.set(nodeId, v);
          const queued = await dispatchEffects(ours, effects, (err) => {
            throw err;
          });
          if (queued !== targets.length) throw new Error(`queued ${queued} of ${targets.length}`);
        }),
      base: () =>
        elapsedMs(async () => {
          const v = ++version;
          await bareQueue.addBulk(
            targets.map((nodeId) => ({
              name: "config-push",
              data: { nodeId, version: v },
              opts: { priority, jobId: jobIds.configPush(nodeId, v) },
            })),
          );
        }),
    });
    out.push(
      pairedRow(
        {
          name: `config fan-out: one change announced to ${FAN_OUT - 1} nodes`,
          unit: "ms",
          baselineName: "one addBulk of the same jobs",
          target: { of: "ratio", compare: "<=", value: 1.5 },
          note: "ours is dispatchEffects, what every mesh change runs after its commit",
        },
        fanOut,
      ),
    );
    return out;
  } finally {
    await runtime.close().catch(() => {});
    await bareWorker.close().catch(() => {});
    await bareQueue.close().catch(() => {});
    await world.close();
  }
}
