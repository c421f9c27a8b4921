/** Which processor serves which queue: one function per queue, dispatching on the job name. */
import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { createConfigPusher } from "../../src/mesh/index.js";
import type { Platform } from "../../src/platform.js";
import type { QueueName } from "../../src/queue/index.js";
import { syncTaskHandlers } from "../../src/sync/index.js";
import type { Processor } from "../runtime.js";
import { processConfigPush } from "./config-push.js";
import { processDriftCheck } from "./drift-check.js";
import { processEmail } from "./email.js";
import { processHubTask } from "./hub-task.js";
import { processInterfacePeers } from "./interface-peers.js";
import { processNetworkSync } from "./network-sync.js";
import { processReseal } from "./reseal.js";
import { processSyncRun } from "./sync-run.js";
import { processWebhook } from "./webhook.js";

export function buildProcessors(platform: Platform): Partial<Record<QueueName, Processor>> {
  const { sync, peerSync, configs, webhooks, emails, quota, reseal } = platform.services;
  // Tasks of networks another hub host holds run there; `here` runs the ones sent to this host.
  const here = syncTaskHandlers({ peerSync, configs, quota, logger: platform.logger });
  const handlers = syncTaskHandlers({
    peerSync,
    configs,
    quota,
    logger: platform.logger,
    delegate: platform.hub.delegate,
  });
  const pusher = createConfigPusher(platform.database.db, platform.configNotifier);

  return {
    "peer-sync": async (job: Job, token, signal) => {
      switch (job.name) {
        case "sync-run":
          return processSyncRun(job, { sync, handlers }, { token, signal });
        case "network-sync":
          return processNetworkSync(job, { peerSync });
        case "drift-check":
          return processDriftCheck(job, { peerSync });
        case "interface-peers":
          return processInterfacePeers(job, { peerSync });
        case "hub-task":
          return processHubTask(job, { handlers: here });
        default:
          throw new UnrecoverableError(`unknown job ${job.name} on peer-sync`);
      }
    },
    "config-push": async (job: Job, _token, signal) => {
      switch (job.name) {
        case "config-push":
          return processConfigPush(job, { pusher });
        case "reseal":
          return processReseal(job, { reseal }, signal);
        default:
          throw new UnrecoverableError(`unknown job ${job.name} on config-push`);
      }
    },
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
