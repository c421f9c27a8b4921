/**
 * What a mesh change asks of the data plane once committed: a peer sync of each touched network
 * (critical priority, coalesced per network), or of just the nodes that joined it, and a config
 * push for each node whose config changed. Dispatch never fails the change: Postgres already holds
 * it, and the scheduled reconcile repairs a lost trigger.
 */
import type { JobQueue } from "../queue/index.js";
import { jobIds, MAX_JOINED_PER_JOB } from "../queue/index.js";

export interface MeshEffects {
  /** Networks whose hub needs a full peer sync (it reads every peer of the network and the interface). */
  syncNetworks: Set<string>;
  /**
   * Per network, nodes that joined it (`addJoined`): its hub needs just their peers added. A network
   * also in `syncNetworks` gets the full sync only, which covers them.
   */
  joined: Map<string, string[]>;
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
  return {
    syncNetworks: new Set(),
    joined: new Map(),
    reason,
    pushConfigs: new Map(),
    syncQueues: new Map(),
  };
}

/**
 * Records that `nodeId` joined `networkId` and that this is all the change asks of the network's hub:
 * IMPORTANT: a change that also alters other peers of the hub (removes, re-keys, routes) must add the
 * network to `syncNetworks` instead, since the targeted apply looks at nothing but these nodes.
 */
export function addJoined(effects: MeshEffects, networkId: string, nodeId: string): void {
  const ids = effects.joined.get(networkId);
  if (ids) ids.push(nodeId);
  else effects.joined.set(networkId, [nodeId]);
}

/** The coalescing key of a network's peer sync: one waiting job per network at most. */
export const networkSyncKey = (networkId: string) => `net-${networkId}`;
/** The coalescing key of a network's targeted syncs (`addJoined`): one waiting at most, too. */
export const joinedSyncKey = (networkId: string) => `net-${networkId}-joined`;

export type DispatchErrorReporter = (err: unknown, what: { networkId?: string; nodeId?: string }) => void;

/** Enqueues the effects; reports (never throws) failures. Returns how many triggers were queued. */
export async function dispatchEffects(
  queue: JobQueue,
  effects: MeshEffects,
  report: DispatchErrorReporter,
): Promise<number> {
  const jobs: Promise<unknown>[] = [];
  const reason = effects.reason.slice(0, 200);
  const routed = (networkId: string) =>
    effects.syncQueues.has(networkId) ? { queue: effects.syncQueues.get(networkId)! } : {};
  const fullSync = (networkId: string) =>
    queue.enqueue(
      "network-sync",
      { networkId, reason },
      { priority: "critical", coalesceKey: networkSyncKey(networkId), ...routed(networkId) },
    );
  for (const networkId of effects.syncNetworks) {
    jobs.push(fullSync(networkId).catch((err) => report(err, { networkId })));
  }
  for (const [networkId, nodeIds] of effects.joined) {
    if (effects.syncNetworks.has(networkId)) continue;
    const jobId = jobIds.joined(nodeIds[0]!);
    jobs.push(
      (async () => {
        if (nodeIds.length > MAX_JOINED_PER_JOB) return fullSync(networkId);
        const added = await queue.enqueue(
          "network-sync",
          { networkId, reason, nodeIds },
          { priority: "critical", jobId, coalesceKey: joinedSyncKey(networkId), ...routed(networkId) },
        );
        // IMPORTANT: coalesced into a job that waits or runs already, whose node ids are not these
        // (BullMQ keeps one job's data, the latest only while one is active): a full sync, read
        // after this commit, carries them instead. So a burst becomes full syncs, deduplicated
        // per network as ever, and a lone enrollment stays targeted.
        if (added !== jobId) return fullSync(networkId);
        return added;
      })().catch((err) => report(err, { networkId })),
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
