import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { PeerSyncService } from "../../src/peer-sync/index.js";
import { InterfacePeersPayload } from "../../src/queue/index.js";

/** Reads the peers on a network's interface for an adoption the API waits for; changes nothing. */
export async function processInterfacePeers(job: Job, deps: { peerSync: PeerSyncService }) {
  const parsed = InterfacePeersPayload.safeParse(job.data);
  if (!parsed.success)
    throw new UnrecoverableError(`invalid interface-peers payload: ${parsed.error.message}`);
  return deps.peerSync.readPeers(parsed.data.networkId);
}
