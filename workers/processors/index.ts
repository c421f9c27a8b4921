/** Which processor serves which queue: one function per queue, dispatching on the job name. */
import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { F } from "../../src/logger.js";
import { driftCount } from "../../src/peer-sync/index.js";
import type { Platform } from "../../src/platform.js";
import type { QueueName } from "../../src/queue/index.js";
import type { TaskHandlers } from "../../src/sync/index.js";
import type { Processor } from "../runtime.js";
import { processConfigPush } from "./config-push.js";
import { processDriftCheck } from "./drift-check.js";
import { processEmail } from "./email.js";
import { processNetworkSync } from "./network-sync.js";
import { processSyncRun } from "./sync-run.js";
import { processWebhook } from "./webhook.js";

/** What each task of a sync run does, on this worker's interfaces. */
export function syncTaskHandlers(platform: Platform): TaskHandlers {
  const { peerSync, configs } = platform.services;
  const log = platform.logger.child({ [F.component]: "peer-sync" });
  return {
    async peers(task, run) {
      const outcome = await peerSync.syncNetwork(task.networkId, {
        removeUnknown: run.removeUnknown,
        reportDrift: true,
      });
      if (driftCount(outcome.drift) > 0) {
        log.warn(
          {
            [F.networkId]: task.networkId,
            [F.syncRunId]: run.id,
            iface: outcome.iface,
            missing: outcome.drift.missing.length,
            unexpected: outcome.drift.unexpected.length,
            mismatched: outcome.drift.mismatched.length,
          },
          "drift detected",
        );
      }
      return { ok: true, note: outcome.note };
    },
    async configs(task) {
      const announced = await configs.pushConfigs(task.networkId);
      return { ok: true, note: `${announced} node config versions announced to agents` };
    },
    async usage(task) {
      const { note } = await peerSync.collectUsage(task.networkId);
      return { ok: true, note };
    },
  };
}

export function buildProcessors(platform: Platform): Partial<Record<QueueName, Processor>> {
  const handlers = syncTaskHandlers(platform);
  const { sync, peerSync, webhooks, emails } = platform.services;
  const db = platform.database.db;

  return {
    "peer-sync": async (job: Job, token, signal) => {
      switch (job.name) {
        case "sync-run":
          return processSyncRun(job, { sync, handlers }, { token, signal });
        case "network-sync":
          return processNetworkSync(job, { peerSync });
        case "drift-check":
          return processDriftCheck(job, { peerSync });
        default:
          throw new UnrecoverableError(`unknown job ${job.name} on peer-sync`);
      }
    },
    "config-push": (job: Job) => processConfigPush(job, { db, notifier: platform.configNotifier }),
    webhook: async (job: Job, token) => {
      if (job.name !== "deliver-webhook") throw new UnrecoverableError(`unknown job ${job.name} on webhook`);
      return processWebhook(job, token, { webhooks });
    },
    email: async (job: Job, token) => {
      if (job.name !== "send-email") throw new UnrecoverableError(`unknown job ${job.name} on email`);
      return processEmail(job, token, { emails });
    },
  };
}
