/**
 * The aggregate queries behind stats and metrics. Every one is a GROUP BY or a count: the rows it
 * answers grow with networks, statuses or buckets, never with nodes, so a fleet of 10,000 nodes costs
 * the database one scan per query and the process a handful of rows.
 */
import { and, count, eq, gte, isNotNull, lt, max, min, sql } from "drizzle-orm";
import type { Executor, NodeStatus, SyncStatus } from "../db/index.js";
import { emails, events, networks, nodes, syncRuns, usageMonthly, webhookDeliveries } from "../db/index.js";

/** Nodes of one network in one status. */
export interface NodeGroup {
  networkId: string;
  network: string;
  status: NodeStatus;
  count: number;
}

/** Node counts by network and status (networks without nodes are absent). */
export function countNodesByNetworkAndStatus(exec: Executor): Promise<NodeGroup[]> {
  return exec
    .select({ networkId: networks.id, network: networks.name, status: nodes.status, count: count() })
    .from(nodes)
    .innerJoin(networks, eq(nodes.networkId, networks.id))
    .groupBy(networks.id, networks.name, nodes.status)
    .orderBy(networks.name, nodes.status);
}

/** Node counts by status alone, over every network. */
export function countNodesByStatus(exec: Executor): Promise<{ status: NodeStatus; count: number }[]> {
  return exec.select({ status: nodes.status, count: count() }).from(nodes).groupBy(nodes.status);
}

export async function countNetworks(exec: Executor): Promise<number> {
  const [row] = await exec.select({ count: count() }).from(networks);
  return row?.count ?? 0;
}

/** Bytes moved this `month` (`YYYY-MM`) over every peer, as the hub counts them. */
export async function sumTraffic(
  exec: Executor,
  month: string,
): Promise<{ rxBytes: number; txBytes: number }> {
  const [row] = await exec
    .select({
      rxBytes: sql<number>`coalesce(sum(${usageMonthly.rxBytes}), 0)::float8`.mapWith(Number),
      txBytes: sql<number>`coalesce(sum(${usageMonthly.txBytes}), 0)::float8`.mapWith(Number),
    })
    .from(usageMonthly)
    .where(eq(usageMonthly.month, month));
  return { rxBytes: row?.rxBytes ?? 0, txBytes: row?.txBytes ?? 0 };
}

/** Sync runs created since `since`, by status. */
export function countSyncRunsSince(
  exec: Executor,
  since: Date,
): Promise<{ status: SyncStatus; count: number }[]> {
  return exec
    .select({ status: syncRuns.status, count: count() })
    .from(syncRuns)
    .where(gte(syncRuns.createdAt, since))
    .groupBy(syncRuns.status);
}

/** Webhook deliveries and emails that gave up (status `failed`), still in the log. */
export async function countFailedDeliveries(exec: Executor): Promise<{ webhooks: number; emails: number }> {
  const [[hooks], [mails]] = await Promise.all([
    exec.select({ count: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.status, "failed")),
    exec.select({ count: count() }).from(emails).where(eq(emails.status, "failed")),
  ]);
  return { webhooks: hooks?.count ?? 0, emails: mails?.count ?? 0 };
}

/**
 * Nodes whose agent reported applying a config version older than their current one, by network: the
 * rule of `isConfigLagging`. A node whose agent never reported a version is not counted.
 */
export function countConfigLagging(exec: Executor): Promise<{ network: string; count: number }[]> {
  return exec
    .select({ network: networks.name, count: count() })
    .from(nodes)
    .innerJoin(networks, eq(nodes.networkId, networks.id))
    .where(and(isNotNull(nodes.appliedConfigVersion), lt(nodes.appliedConfigVersion, nodes.configVersion)))
    .groupBy(networks.id, networks.name)
    .orderBy(networks.name);
}

/** Cumulative counts of handshake ages (`le` buckets in seconds), with their sum and count, per network. */
export interface HandshakeAges {
  network: string;
  /** `buckets[i]` counts nodes whose last handshake is at most `bounds[i]` seconds old. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

/**
 * Ages of the last handshake of every node that had one, as cumulative histogram buckets per network,
 * counted by the database at `now`.
 */
export async function handshakeAges(
  exec: Executor,
  bounds: readonly number[],
  now: Date,
): Promise<HandshakeAges[]> {
  const age = sql`extract(epoch from (${now.toISOString()}::timestamptz - ${nodes.lastHandshakeAt}))`;
  const bucketColumns = Object.fromEntries(
    bounds.map((b, i) => [`b${i}`, sql<number>`count(*) filter (where ${age} <= ${b})`.mapWith(Number)]),
  );
  const rows = await exec
    .select({
      network: networks.name,
      count: count(),
      sumSeconds: sql<number>`coalesce(sum(greatest(${age}, 0)), 0)::float8`.mapWith(Number),
      ...bucketColumns,
    })
    .from(nodes)
    .innerJoin(networks, eq(nodes.networkId, networks.id))
    .where(isNotNull(nodes.lastHandshakeAt))
    .groupBy(networks.id, networks.name)
    .orderBy(networks.name);
  return rows.map((r) => {
    const row = r as unknown as Record<string, number> & { network: string };
    return {
      network: r.network,
      buckets: bounds.map((_, i) => row[`b${i}`] ?? 0),
      sumSeconds: r.sumSeconds,
      count: r.count,
    };
  });
}

/** Transfer per node over every month kept, as the hub counts it (rx: received from the peer). */
export interface PeerTransfer {
  network: string;
  node: string;
  rxBytes: number;
  txBytes: number;
}

/** Per-node transfer totals of current nodes (one row per node: this is per-peer cardinality). */
export function sumTransferByNode(exec: Executor): Promise<PeerTransfer[]> {
  return exec
    .select({
      network: networks.name,
      node: nodes.name,
      rxBytes: sql<number>`coalesce(sum(${usageMonthly.rxBytes}), 0)::float8`.mapWith(Number),
      txBytes: sql<number>`coalesce(sum(${usageMonthly.txBytes}), 0)::float8`.mapWith(Number),
    })
    .from(usageMonthly)
    .innerJoin(nodes, eq(usageMonthly.nodeId, nodes.id))
    .innerJoin(networks, eq(nodes.networkId, networks.id))
    .groupBy(networks.id, networks.name, nodes.id, nodes.name)
    .orderBy(networks.name, nodes.name);
}

/** `drift.detected` events since `since`: how many, over how many networks, and the latest. */
export async function driftSince(
  exec: Executor,
  since: Date,
): Promise<{ events: number; networks: number; lastAt: Date | null }> {
  const [row] = await exec
    .select({
      events: count(),
      networks: sql<number>`count(distinct ${events.data}->'network'->>'id')`.mapWith(Number),
      lastAt: max(events.createdAt),
    })
    .from(events)
    .where(and(eq(events.type, "drift.detected"), gte(events.createdAt, since)));
  return { events: row?.events ?? 0, networks: row?.networks ?? 0, lastAt: row?.lastAt ?? null };
}

/** How much history each pruned table holds, and since when. */
export interface HistoryHeld {
  rows: number;
  oldestAt: Date | null;
}

export async function historyHeld(
  exec: Executor,
): Promise<{ events: HistoryHeld; syncRuns: HistoryHeld; emails: HistoryHeld }> {
  const [[e], [s], [m]] = await Promise.all([
    exec.select({ rows: count(), oldestAt: min(events.createdAt) }).from(events),
    exec.select({ rows: count(), oldestAt: min(syncRuns.createdAt) }).from(syncRuns),
    exec.select({ rows: count(), oldestAt: min(emails.createdAt) }).from(emails),
  ]);
  const held = (r: { rows: number; oldestAt: Date | null } | undefined): HistoryHeld => ({
    rows: r?.rows ?? 0,
    oldestAt: r?.oldestAt ?? null,
  });
  return { events: held(e), syncRuns: held(s), emails: held(m) };
}
