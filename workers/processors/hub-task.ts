import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { HubTaskPayload } from "../../src/queue/index.js";
import type { TaskHandlers } from "../../src/sync/index.js";

/**
 * Runs one peers or usage task of a sync run that executes on another host, on this hub host's own
 * interface; the run waits for the result.
 */
export async function processHubTask(job: Job, deps: { handlers: TaskHandlers }) {
  const parsed = HubTaskPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid hub-task payload: ${parsed.error.message}`);
  const { networkId, networkName, kind, syncRunId, removeUnknown } = parsed.data;
  return deps.handlers[kind]({ kind, networkId, networkName }, { id: syncRunId, removeUnknown });
}
