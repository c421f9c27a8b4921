import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { PeerSyncService } from "../../src/peer-sync/index.js";
import { DriftCheckPayload } from "../../src/queue/index.js";

/** Compares a network's interface with the database for the API, which waits for this job's result. */
export async function processDriftCheck(job: Job, deps: { peerSync: PeerSyncService }) {
  const parsed = DriftCheckPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid drift-check payload: ${parsed.error.message}`);
  return deps.peerSync.checkDrift(parsed.data.networkId);
}
