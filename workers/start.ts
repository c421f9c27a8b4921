/**
 * The worker role of a process: queue workers for the configured queues and, when enabled, the
 * scheduler. Shared by the worker entry point and `npm start`, so both run the same thing.
 */
import type { Config } from "../src/config.js";
import { createProgressMonitor, HealthCheckError } from "../src/health/index.js";
import type { Logger } from "../src/logger.js";
import { F } from "../src/logger.js";
import type { Platform } from "../src/platform.js";
import { hubQueueName } from "../src/queue/index.js";
import { createRetention } from "../src/retention/index.js";
import { createTickClaims } from "../src/scheduler-claims/index.js";
import { buildProcessors } from "./processors/index.js";
import type { WorkerRuntime } from "./runtime.js";
import { startWorkers } from "./runtime.js";
import type { Scheduler } from "./scheduler.js";
import { startScheduler } from "./scheduler.js";

export interface WorkerRole {
  runtime: WorkerRuntime;
  scheduler: Scheduler | undefined;
  /** Stops the scheduler, then the workers (in-flight jobs get `shutdownTimeoutMs`). */
  stop(): Promise<{ forced: boolean }>;
}

/**
 * Creates or adopts each owned hub interface and reconciles it at once, so a start or restart does
 * not wait for the next scheduled reconcile: one log line per interface with its peers and changes.
 */
async function reconcileOwnedNow(platform: Platform, logger: Logger): Promise<void> {
  const log = logger.child({ [F.component]: "peer-sync" });
  for (const r of await platform.services.peerSync.reconcileOwned()) {
    const fields = { iface: r.binding.iface, netns: r.binding.netns, network: r.binding.network };
    if (r.missing) log.warn(fields, "no network of this name or id; the interface waits for it");
    else if (r.error) log.error({ ...fields, err: r.error }, "hub interface reconcile at start failed");
    else if (r.outcome) {
      const { peers, changed, forwarding } = r.outcome;
      log.info({ ...fields, peers, changed }, "hub interface reconciled");
      if (forwarding?.problem)
        log.warn({ ...fields, problem: forwarding.problem }, "nodes cannot reach each other");
    }
  }
}

/**
 * Starts the worker role. A peer-sync worker owning interfaces is a hub host (`HUB_ID`): it also
 * serves its own queue `peer-sync.<HUB_ID>`, and holds its networks through leases (src/hubs).
 * Throws HubConflictError, starting nothing, when another live hub host already serves one of its
 * networks as primary.
 */
export async function startWorkerRole(
  platform: Platform,
  config: Config,
  logger: Logger,
): Promise<WorkerRole> {
  const progress = createProgressMonitor(config.workers.stuckAfterMs);
  const keeper = config.workers.queues.includes("peer-sync") ? platform.hub.keeper : undefined;
  if (keeper) await keeper.checkConflicts();
  const runtime = startWorkers({
    ...(keeper
      ? { extraQueues: [{ name: hubQueueName(keeper.hubId), processorOf: "peer-sync" as const }] }
      : {}),
    queues: config.workers.queues,
    processors: buildProcessors(platform),
    connection: platform.workerConnection(),
    prefix: config.redis.prefix,
    concurrency: { default: config.workers.concurrency, webhook: config.workers.webhookConcurrency },
    logger,
    metrics: platform.metrics,
    lockDurationMs: config.workers.lockDurationMs,
    progress,
  });
  platform.addHealthCheck("workers", async () => {
    if (!runtime.isHealthy()) throw new HealthCheckError("a queue worker is not running");
    await progress.check();
  });
  if (keeper) {
    // Each network is brought up (and reconciled) as its lease is acquired.
    void keeper.start();
  } else if (config.workers.queues.includes("peer-sync") && config.wireguard.interfaces.length > 0) {
    // A failure here (the database down at start) is logged; the scheduled reconcile repairs later.
    reconcileOwnedNow(platform, logger).catch((err: unknown) =>
      logger.child({ [F.component]: "peer-sync" }).error({ err }, "hub interface reconcile at start failed"),
    );
  }
  const scheduler = config.workers.schedulerEnabled
    ? startScheduler({
        sync: platform.services.sync,
        liveness: platform.services.liveness,
        settings: platform.services.settings,
        logger,
        staleRunCheckCron: config.workers.staleRunCheckCron,
        nodeOfflineAfterSeconds: config.workers.nodeOfflineAfterSeconds,
        claims: createTickClaims({ database: platform.database }),
        crons: config.workers.crons,
        retention: {
          days: config.workers.retentionDays,
          usageHourDays: config.workers.usageHourlyRetentionDays,
          service: createRetention({ db: platform.database.db }),
        },
        relay: {
          relay: platform.services.relay,
          intervalMs: config.notify.relayIntervalMs,
          listen: (channel, onNotify) => platform.database.listen(channel, onNotify),
        },
        progress,
        quota: platform.services.quota,
        hubKeys: platform.services.rekey,
      })
    : undefined;
  return {
    runtime,
    scheduler,
    async stop() {
      await scheduler?.stop();
      await keeper?.stop();
      return runtime.close(config.workers.shutdownTimeoutMs);
    },
  };
}
