/** Queries of quotas: usage against quotas, recorded crossings, nodes disabled for their quota. */
import { and, eq, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { networks, nodes, quotaNotices, usageMonthly } from "../db/index.js";
import { QUOTA_LIMIT } from "./thresholds.js";

export interface QuotaStanding {
  nodeId: string;
  /** The node's own quota, else its network's default (never null here). */
  quotaBytes: number;
  /** Bytes received + sent this month, over every key the node had. */
  usedBytes: number;
  /** Thresholds already recorded this month. */
  recorded: number[];
}

/**
 * Every node of a network that has a quota (its own or the network's default), with its usage and
 * recorded crossings in `month`. One statement.
 */
export async function standings(exec: Executor, networkId: string, month: string): Promise<QuotaStanding[]> {
  const rows = await exec
    .select({
      nodeId: nodes.id,
      quotaBytes: sql<string>`coalesce(${nodes.monthlyQuotaBytes}, ${networks.defaultMonthlyQuotaBytes})`,
      usedBytes: sql<string>`coalesce((
        select sum(${usageMonthly.rxBytes} + ${usageMonthly.txBytes}) from ${usageMonthly}
        where ${usageMonthly.nodeId} = ${nodes.id} and ${usageMonthly.month} = ${month}), 0)`,
      recorded: sql<number[]>`coalesce((
        select array_agg(${quotaNotices.threshold}) from ${quotaNotices}
        where ${quotaNotices.nodeId} = ${nodes.id} and ${quotaNotices.month} = ${month}), '{}')`,
    })
    .from(nodes)
    .innerJoin(networks, eq(networks.id, nodes.networkId))
    .where(
      and(
        eq(nodes.networkId, networkId),
        sql`coalesce(${nodes.monthlyQuotaBytes}, ${networks.defaultMonthlyQuotaBytes}) is not null`,
      ),
    );
  // bigint sums come back as strings: byte counts stay below 2^53.
  return rows.map((r) => ({
    nodeId: r.nodeId,
    quotaBytes: Number(r.quotaBytes),
    usedBytes: Number(r.usedBytes),
    recorded: r.recorded.map(Number),
  }));
}

/**
 * Records a crossing; true when this call recorded it (false: another collection already did, so
 * its event and action happened once, there).
 */
export async function recordCrossing(
  exec: Executor,
  crossing: { nodeId: string; month: string; threshold: number; usedBytes: number; quotaBytes: number },
): Promise<boolean> {
  const rows = await exec
    .insert(quotaNotices)
    .values(crossing)
    .onConflictDoNothing()
    .returning({ nodeId: quotaNotices.nodeId });
  return rows.length === 1;
}

/**
 * Nodes disabled for their quota that reached no limit in `month`: their month has turned. Ids with
 * their network, at most `limit`.
 */
export async function restorable(
  exec: Executor,
  month: string,
  limit: number,
): Promise<{ id: string; networkId: string }[]> {
  return exec
    .select({ id: nodes.id, networkId: nodes.networkId })
    .from(nodes)
    .where(
      and(
        eq(nodes.status, "disabled"),
        eq(nodes.disabledReason, "quota"),
        sql`not exists (select 1 from ${quotaNotices} where ${quotaNotices.nodeId} = ${nodes.id}
          and ${quotaNotices.month} = ${month} and ${quotaNotices.threshold} = ${QUOTA_LIMIT})`,
      ),
    )
    .limit(limit);
}
