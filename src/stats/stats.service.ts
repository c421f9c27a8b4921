/**
 * The stats service: three views of the fleet for three audiences, each built from aggregate queries
 * (see `stats.repo.ts`) and, for admins, BullMQ's own counts.
 */
import type { Queue } from "bullmq";
import type { Db, NodeStatus, SyncStatus } from "../db/index.js";
import { NODE_STATUSES, SYNC_STATUSES } from "../db/index.js";
import { listHubHosts } from "../hubs/index.js";
import type { FleetSource, QueueSource } from "../metrics/index.js";
import type { QueueName, Redis } from "../queue/index.js";
import { hubQueueName } from "../queue/index.js";
import { monthOf } from "../usage/index.js";
import type { QueueDepth, QueueJobState } from "./queue-depths.js";
import { readQueueDepths } from "./queue-depths.js";
import * as repo from "./stats.repo.js";

const DAY_MS = 24 * 60 * 60 * 1_000;
/**
 * How long a hub host's peer-sync queue stays observed (queue gauges, Bull Board) after its last
 * heartbeat: jobs left in a dead host's queue stay visible a week, then the queue drops out.
 */
export const HUB_QUEUE_SHOWN_SECONDS = 7 * 24 * 60 * 60;

export interface StatsServiceDeps {
  db: Db;
  /** The BullMQ queues and the connection they use; admin stats and queue metrics read them. */
  queues: Readonly<Record<QueueName, Queue>>;
  redis: Redis;
  /** Opens hub host `hubId`'s peer-sync queue; without it only the four shared queues are observed. */
  hubQueue?: (hubId: string) => Queue;
  /** `RETENTION_DAYS`, reported with the history held. */
  retentionDays: number;
  now?: () => Date;
}

/** Anyone may read these: counts, nothing that names or identifies a network, node or person. */
export interface PublicStats {
  networks: number;
  nodes: { total: number } & Record<NodeStatus, number>;
}

export interface NetworkNodes {
  networkId: string;
  name: string;
  total: number;
  byStatus: Record<NodeStatus, number>;
}

export interface OverviewStats {
  generatedAt: string;
  networks: number;
  nodes: { total: number; byStatus: Record<NodeStatus, number>; byNetwork: NetworkNodes[] };
  /** This UTC month's transfer over every peer, as the hub counts it (rx: received from peers). */
  traffic: { month: string; rxBytes: number; txBytes: number };
  /** Sync runs requested since midnight UTC. */
  syncs: { since: string; total: number; byStatus: Record<SyncStatus, number> };
  /** Notifications that gave up and are still in the log. */
  failedDeliveries: { webhooks: number; emails: number };
}

export interface QueueStats {
  name: QueueName;
  counts: Record<QueueJobState, number>;
  oldestWaitingAt: string | null;
  oldestWaitingSeconds: number | null;
  workers: number;
}

export interface HistoryStats {
  rows: number;
  oldestAt: string | null;
}

export interface AdminStats extends OverviewStats {
  /** Null when Redis did not answer; `queuesError` then says why. */
  queues: QueueStats[] | null;
  queuesError: string | null;
  drift: {
    /** `drift.detected` events of the last 24 hours and the networks they concern. */
    last24h: { events: number; networks: number; lastAt: string | null };
    /** Nodes whose newest config version has not been announced to their agent yet. */
    configLagging: number;
  };
  retention: { days: number; events: HistoryStats; syncRuns: HistoryStats; emails: HistoryStats };
}

const zeroes = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Seconds since `at`, never negative (clocks of Redis and this host may differ slightly). */
export const ageSeconds = (at: Date, now: Date) => Math.max(0, (now.getTime() - at.getTime()) / 1_000);

export type StatsService = ReturnType<typeof createStatsService>;

export function createStatsService(deps: StatsServiceDeps) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function observedQueues(): Promise<Record<string, Queue>> {
    const queues: Record<string, Queue> = { ...deps.queues };
    const open = deps.hubQueue;
    if (!open) return queues;
    for (const host of await listHubHosts(db, HUB_QUEUE_SHOWN_SECONDS)) {
      if (host.live) queues[hubQueueName(host.id)] = open(host.id);
    }
    return queues;
  }

  async function overview(): Promise<OverviewStats> {
    const at = now();
    const midnight = new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
    const month = monthOf(at);
    const [groups, networks, traffic, runs, failedDeliveries] = await Promise.all([
      repo.countNodesByNetworkAndStatus(db),
      repo.countNetworks(db),
      repo.sumTraffic(db, month),
      repo.countSyncRunsSince(db, midnight),
      repo.countFailedDeliveries(db),
    ]);
    const byStatus = zeroes(NODE_STATUSES);
    const byNetwork = new Map<string, NetworkNodes>();
    for (const g of groups) {
      byStatus[g.status] += g.count;
      let entry = byNetwork.get(g.networkId);
      if (!entry) {
        entry = { networkId: g.networkId, name: g.network, total: 0, byStatus: zeroes(NODE_STATUSES) };
        byNetwork.set(g.networkId, entry);
      }
      entry.byStatus[g.status] += g.count;
      entry.total += g.count;
    }
    const syncsByStatus = zeroes(SYNC_STATUSES);
    for (const r of runs) syncsByStatus[r.status] += r.count;
    return {
      generatedAt: at.toISOString(),
      networks,
      nodes: {
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        byNetwork: [...byNetwork.values()],
      },
      traffic: { month, ...traffic },
      syncs: {
        since: midnight.toISOString(),
        total: Object.values(syncsByStatus).reduce((a, b) => a + b, 0),
        byStatus: syncsByStatus,
      },
      failedDeliveries,
    };
  }

  return {
    /** Counts of networks and of nodes by status; nothing else. Throws when the database fails. */
    async publicStats(): Promise<PublicStats> {
      const [statuses, networks] = await Promise.all([repo.countNodesByStatus(db), repo.countNetworks(db)]);
      const byStatus = zeroes(NODE_STATUSES);
      for (const s of statuses) byStatus[s.status] += s.count;
      return {
        networks,
        nodes: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), ...byStatus },
      };
    },

    /** Nodes by status and network, networks, this month's traffic, today's syncs, failed deliveries. */
    overview,

    /**
     * The overview plus queue depths (from BullMQ), drift and retention. A Redis that does not answer
     * leaves `queues` null and says why in `queuesError`; the rest still answers.
     */
    async adminStats(): Promise<AdminStats> {
      const at = now();
      const [base, depths, drift, lagging, held] = await Promise.all([
        overview(),
        readQueueDepths(deps.queues, deps.redis).then(
          (d) => ({ ok: true as const, depths: d }),
          (err: unknown) => ({ ok: false as const, error: (err as Error).message }),
        ),
        repo.driftSince(db, new Date(at.getTime() - DAY_MS)),
        repo.countConfigLagging(db),
        repo.historyHeld(db),
      ]);
      return {
        ...base,
        queues: depths.ok ? depths.depths.map((d) => presentQueue(d, at)) : null,
        queuesError: depths.ok ? null : `the queues could not be read: ${depths.error}`,
        drift: {
          last24h: { events: drift.events, networks: drift.networks, lastAt: iso(drift.lastAt) },
          configLagging: lagging.reduce((a, r) => a + r.count, 0),
        },
        retention: {
          days: deps.retentionDays,
          events: { rows: held.events.rows, oldestAt: iso(held.events.oldestAt) },
          syncRuns: { rows: held.syncRuns.rows, oldestAt: iso(held.syncRuns.oldestAt) },
          emails: { rows: held.emails.rows, oldestAt: iso(held.emails.oldestAt) },
        },
      };
    },

    /** What the fleet gauges read on scrape (aggregate queries; see src/metrics/nodes.ts). */
    fleetSource(): FleetSource {
      return {
        nodes: () => repo.countNodesByNetworkAndStatus(db),
        configLagging: () => repo.countConfigLagging(db),
        handshakeAges: (bounds) => repo.handshakeAges(db, bounds, now()),
        peerTransfer: () => repo.sumTransferByNode(db),
      };
    },

    /**
     * Every queue worth observing, by name: the four shared queues, then the peer-sync queue of each
     * hub host that beat within `HUB_QUEUE_SHOWN_SECONDS` (read from `hub_hosts` on every call).
     */
    observedQueues,

    /** What the queue gauges read on scrape (BullMQ's counts), hub hosts' queues included. */
    queueSource(): QueueSource {
      return { depths: async () => readQueueDepths(await observedQueues(), deps.redis) };
    },
  };
}

function presentQueue(d: QueueDepth, now: Date): QueueStats {
  return {
    name: d.queue,
    counts: d.counts,
    oldestWaitingAt: iso(d.oldestWaitingAt),
    oldestWaitingSeconds: d.oldestWaitingAt ? Math.round(ageSeconds(d.oldestWaitingAt, now)) : null,
    workers: d.workers,
  };
}
