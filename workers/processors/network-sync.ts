import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { PeerSyncService } from "../../src/peer-sync/index.js";
import { NetworkSyncPayload } from "../../src/queue/index.js";

/**
 * Applies one network's desired peers to its interface (a trigger from a mesh change). Level-triggered:
 * it recomputes everything from the database, so a duplicate or late job is harmless.
 */
export async function processNetworkSync(job: Job, deps: { peerSync: PeerSyncService }) {
  const parsed = NetworkSyncPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid network-sync payload: ${parsed.error.message}`);
  const outcome = await deps.peerSync.syncNetwork(parsed.data.networkId, {
    removeUnknown: false,
    reportDrift: false,
  });
  return { managed: outcome.managed, writes: outcome.writes, note: outcome.note };
}
