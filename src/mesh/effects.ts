/**
 * What a mesh change asks of the data plane once committed: a peer sync of each touched network
 * (critical priority, coalesced per network) and a config push for each node whose config changed.
 * Dispatch never fails the change: Postgres already holds it, and the scheduled reconcile repairs a
 * lost trigger.
 */
import type { JobQueue } from "../queue/index.js";
import { jobIds } from "../queue/index.js";

export interface MeshEffects {
  syncNetworks: Set<string>;
  pushConfigs: Map<string, number>;
  reason: string;
  /**
   * The queue of a network's peer sync when the change read its hub lease already (an enrollment
   * reads it with the network's addresses): the routed queue (src/hubs) then reads no lease again,
   * sparing a round trip after the commit. Networks left out are routed as usual.
   */
  syncQueues: Map<string, string>;
}

export function newEffects(reason: string): MeshEffects {
  return { syncNetworks: new Set(), pushConfigs: new Map(), reason, syncQueues: new Map() };
}

/** The coalescing key of a network's peer sync: one waiting job per network at most. */
export const networkSyncKey = (networkId: string) => `net-${networkId}`;

export type DispatchErrorReporter = (err: unknown, what: { networkId?: string; nodeId?: string }) => void;

/** Enqueues the effects; reports (never throws) failures. Returns how many triggers were queued. */
export async function dispatchEffects(
  queue: JobQueue,
  effects: MeshEffects,
  report: DispatchErrorReporter,
): Promise<number> {
  const jobs: Promise<unknown>[] = [];
  for (const networkId of effects.syncNetworks) {
    jobs.push(
      queue
        .enqueue(
          "network-sync",
          { networkId, reason: effects.reason.slice(0, 200) },
          {
            priority: "critical",
            coalesceKey: networkSyncKey(networkId),
            ...(effects.syncQueues.has(networkId) ? { queue: effects.syncQueues.get(networkId)! } : {}),
          },
        )
        .catch((err) => report(err, { networkId })),
    );
  }
  for (const [nodeId, version] of effects.pushConfigs) {
    jobs.push(
      queue
        .enqueue(
          "config-push",
          { nodeId, version },
          { priority: "default", jobId: jobIds.configPush(nodeId, version) },
        )
        .catch((err) => report(err, { nodeId })),
    );
  }
  await Promise.all(jobs);
  return jobs.length;
}
