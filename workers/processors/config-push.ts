import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { Db } from "../../src/db/index.js";
import type { ConfigNotifier } from "../../src/mesh/index.js";
import { pushConfig } from "../../src/mesh/index.js";
import { ConfigPushPayload } from "../../src/queue/index.js";

/** Announces a node's new config version to its agent. */
export async function processConfigPush(job: Job, deps: { db: Db; notifier: ConfigNotifier }) {
  const parsed = ConfigPushPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid config-push payload: ${parsed.error.message}`);
  return { outcome: await pushConfig(deps.db, deps.notifier, parsed.data) };
}
