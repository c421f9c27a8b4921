/**
 * What a mesh change asks of the data plane once committed: a peer sync of each touched network
 * (critical priority, coalesced per network), or of just the nodes pending in its `pending_joins`,
 * and a config push for each node whose config changed. Dispatch never fails the change: Postgres already holds
 * it, and the scheduled reconcile repairs a lost trigger.
 */
import type { JobQueue } from "../queue/index.js";
import { jobIds } from "../queue/index.js";

export interface MeshEffects {
  /** Networks whose hub needs a full peer sync (it reads every peer of the network and the interface). */
  syncNetworks: Set<string>;
  /**
   * Networks that nodes joined (`addJoined`), each node recorded in `pending_joins` by the change
   * itself: the hub needs just their peers added. A network also in `syncNetworks` gets the full sync
   * only, which covers them (and deletes their rows).
   */
  joined: Set<string>;
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
    joined: new Set(),
    reason,
    pushConfigs: new Map(),
    syncQueues: new Map(),
  };
}

/**
 * Records that a node joined `networkId` and that this is all the change asks of the network's hub.
 * IMPORTANT: the change must have written the node's `pending_joins` row in its own transaction
 * (`repo.insertPendingJoin`, or the enrollment's one statement): the targeted apply reads which
 * nodes joined from there, not from the job. A change that also alters other peers of the hub
 * (removes, re-keys, routes) must add the network to `syncNetworks` instead, since the targeted
 * apply looks at nothing but the pending nodes.
 */
export function addJoined(effects: MeshEffects, networkId: string): void {
  effects.joined.add(networkId);
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
  for (const networkId of effects.joined) {
    if (effects.syncNetworks.has(networkId)) continue;
    // IMPORTANT: enqueued once, even when coalesced into a job that waits already: the job names only
    // the network, and the apply reads every pending row of it when it runs, this node's included
    // (committed before this add). A job already running may have read before the commit: BullMQ's
    // `keepLastIfActive` then keeps this one to run after it, and that one reads the row.
    jobs.push(
      queue
        .enqueue(
          "network-sync",
          { networkId, reason, joined: true },
          { priority: "critical", coalesceKey: joinedSyncKey(networkId), ...routed(networkId) },
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
