import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { ConfigPusher } from "../../src/mesh/index.js";
import { ConfigPushPayload } from "../../src/queue/index.js";

/** Announces a node's new config version to its agent. */
export async function processConfigPush(job: Job, deps: { pusher: ConfigPusher }) {
  const parsed = ConfigPushPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid config-push payload: ${parsed.error.message}`);
  return { outcome: await deps.pusher.push(parsed.data) };
}
