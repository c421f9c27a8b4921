import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { PeerSyncService } from "../../src/peer-sync/index.js";
import { NetworkSyncPayload } from "../../src/queue/index.js";

/**
 * Applies one network's desired peers to its interface (a trigger from a mesh change). Level-triggered:
 * it recomputes everything from the database, so a duplicate or late job is harmless. A `joined` job
 * applies just the peers of the network's pending joined nodes, read from the database as they are now;
 * a legacy job naming the nodes (queued before `pending_joins`) is synced in full.
 */
export async function processNetworkSync(job: Job, deps: { peerSync: PeerSyncService }) {
  const parsed = NetworkSyncPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid network-sync payload: ${parsed.error.message}`);
  const { networkId, joined } = parsed.data;
  const outcome = joined
    ? await deps.peerSync.applyJoined(networkId)
    : await deps.peerSync.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
  return { managed: outcome.managed, writes: outcome.writes, note: outcome.note };
}
