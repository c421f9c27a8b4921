/**
 * Where a network's peer-sync jobs go: to the peer-sync queue of the hub host holding its lease
 * (read from Postgres on every trigger, so a takeover reroutes the next job at once), to the shared
 * `peer-sync` queue when no host has ever held it, and nowhere when its holder is gone: the caller
 * hears "owner absent" instead of a job waiting in a queue nobody takes.
 */
import type { Db } from "../db/index.js";
import { DomainError } from "../errors.js";
import type { EnqueueOptions, JobName, JobPayload, JobQueue, Priority } from "../queue/index.js";
import { hubQueueName } from "../queue/index.js";
import type { TaskHandler, TaskResult } from "../sync/index.js";
import type { LeaseRow } from "./hubs.repo.js";
import { readLeases } from "./hubs.repo.js";

export type NetworkRoute =
  /** A live lease: the holder's queue. */
  | { kind: "hub"; hubId: string; epoch: number }
  /** No host ever held it: the shared queue, where any peer-sync worker answers for it. */
  | { kind: "any" }
  /** Its holder stopped renewing: no live host serves the network. */
  | { kind: "absent"; hubId: string; expiresAt: Date };

/** The route of a network's jobs, from its lease. */
export async function routeOf(db: Db, networkId: string): Promise<NetworkRoute> {
  const [lease] = await readLeases(db, [networkId]);
  return routeFrom(lease);
}

/**
 * The one "owner absent" sentence, for the 503 of a routed job and the failed task of a sync run:
 * who held network `networkId`, until when, and what to do about it.
 */
function ownerAbsentMessage(networkId: string, route: { hubId: string; expiresAt: Date }): string {
  return `owner absent: hub host ${route.hubId} served network ${networkId} until its lease expired at ${route.expiresAt.toISOString()}, and no other hub host took it over; start ${route.hubId} again or name a standby host for the network`;
}

/** HUB_OWNER_ABSENT (503) for a network whose hub host stopped renewing its lease. */
export function ownerAbsent(networkId: string, route: { hubId: string; expiresAt: Date }): DomainError {
  return new DomainError("HUB_OWNER_ABSENT", ownerAbsentMessage(networkId, route), {
    context: { networkId, hubId: route.hubId, expiredAt: route.expiresAt.toISOString() },
  });
}

/** Jobs that act on one network's interface, and so must reach its holder. */
const ROUTED: ReadonlySet<JobName> = new Set<JobName>(["network-sync", "drift-check", "interface-peers"]);

async function queueFor(db: Db, name: JobName, payload: unknown): Promise<string | undefined> {
  if (!ROUTED.has(name)) return undefined;
  const networkId = (payload as { networkId: string }).networkId;
  const route = await routeOf(db, networkId);
  if (route.kind === "any") return undefined;
  if (route.kind === "absent") throw ownerAbsent(networkId, route);
  return hubQueueName(route.hubId);
}

/**
 * The queue port with routing: `network-sync`, `drift-check` and `interface-peers` (adoption) jobs go
 * to the holder's queue and throw HUB_OWNER_ABSENT when the holder is gone; everything else passes
 * through.
 */
export function createRoutedQueue(inner: JobQueue, db: Db): JobQueue {
  return {
    async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options: EnqueueOptions) {
      const queue = options.queue ?? (await queueFor(db, name, payload));
      return inner.enqueue(name, payload, queue ? { ...options, queue } : options);
    },
    remove: (queue, jobId) => inner.remove(queue, jobId),
    state: (queue, jobId) => inner.state(queue, jobId),
    async runAndWait<N extends JobName>(
      name: N,
      payload: JobPayload<N>,
      options: { priority: Priority; timeoutMs: number; queue?: string },
    ) {
      const queue = options.queue ?? (await queueFor(db, name, payload));
      return inner.runAndWait(name, payload, queue ? { ...options, queue } : options);
    },
  };
}

const SECOND_MS = 1_000;
/** How long a sync run waits for one task on another hub host. */
const HUB_TASK_TIMEOUT_MS = 120 * SECOND_MS;
/**
 * How long a sync run reuses one read of all leases. A task sent to a holder that lost the lease
 * within this second changes nothing there (it is fenced), and the new holder reconciled the
 * network when it took it: a run of 2,000 networks costs a few reads instead of 4,000.
 */
const LEASES_FRESH_MS = SECOND_MS;

/** The route of a network from one read of every lease. */
function routeFrom(lease: LeaseRow | undefined): NetworkRoute {
  if (!lease) return { kind: "any" };
  if (lease.live) return { kind: "hub", hubId: lease.hubId, epoch: lease.epoch };
  return { kind: "absent", hubId: lease.hubId, expiresAt: lease.expiresAt };
}

/**
 * For sync runs: runs a peers or usage task on the hub host that holds the network when that is
 * another host, and answers "owner absent" (a failed task) when its holder is gone. Returns undefined
 * when the task belongs here (this host holds it, or no host ever did).
 */
export function createTaskDelegate(deps: { db: Db; queue: JobQueue; hubId: string | undefined }) {
  let snapshot: { at: number; leases: Promise<Map<string, LeaseRow>> } | undefined;
  const leases = () => {
    if (!snapshot || performance.now() - snapshot.at > LEASES_FRESH_MS) {
      const read = readLeases(deps.db).then((rows) => new Map(rows.map((r) => [r.networkId, r])));
      snapshot = { at: performance.now(), leases: read };
      read.catch(() => {
        snapshot = undefined;
      });
    }
    return snapshot.leases;
  };
  return async (
    task: Parameters<TaskHandler>[0],
    run: Parameters<TaskHandler>[1],
  ): Promise<TaskResult | undefined> => {
    if (task.kind === "configs") return undefined;
    const route = routeFrom((await leases()).get(task.networkId));
    if (route.kind === "any" || (route.kind === "hub" && route.hubId === deps.hubId)) return undefined;
    if (route.kind === "absent") {
      return { ok: false, note: `${ownerAbsentMessage(task.networkName, route)} (nothing applied)` };
    }
    const result = await deps.queue.runAndWait(
      "hub-task",
      {
        networkId: task.networkId,
        networkName: task.networkName,
        kind: task.kind,
        syncRunId: run.id,
        removeUnknown: run.removeUnknown,
      },
      { priority: "default", timeoutMs: HUB_TASK_TIMEOUT_MS, queue: hubQueueName(route.hubId) },
    );
    const r = result as TaskResult;
    return { ok: r.ok, note: `${route.hubId}: ${r.note}` };
  };
}

export type TaskDelegate = ReturnType<typeof createTaskDelegate>;
