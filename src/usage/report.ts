import { and, desc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { networks, nodes, usageHourly, usageMonthly } from "../db/index.js";
import { notFound } from "../errors.js";
import { hourOf, monthOf } from "./accounting.js";

const HOUR_MS = 60 * 60 * 1000;

/** One node's or one network's traffic over time. */
export type SeriesQuery = ({ nodeId: string } | { networkId: string }) & {
  /** How many hourly points, ending with the current hour. */
  hours: number;
};

export interface TopQuery {
  networkId: string;
  /** `YYYY-MM`; the current month when absent. */
  month?: string | undefined;
  limit: number;
}

export interface Point {
  rxBytes: number;
  txBytes: number;
}

/**
 * Hourly points for the last `hours` hours (oldest first, ending with `now`'s hour; hours without
 * traffic are zero) and every month's totals (oldest first), for one node or one network. Throws
 * NODE_NOT_FOUND or NETWORK_NOT_FOUND.
 */
export async function usageSeries(db: Db, q: SeriesQuery, now: Date) {
  const isNode = "nodeId" in q;
  const id = isNode ? q.nodeId : q.networkId;
  const owner = isNode ? nodes : networks;
  const [exists] = await db.select({ id: owner.id }).from(owner).where(eq(owner.id, id));
  if (!exists)
    throw isNode ? notFound("NODE_NOT_FOUND", "node", id) : notFound("NETWORK_NOT_FOUND", "network", id);
  const first = new Date(hourOf(now).getTime() - (q.hours - 1) * HOUR_MS);
  const [hourlyRows, monthlyRows] = await Promise.all([
    db
      .select({
        hour: usageHourly.hour,
        rxBytes: sql<string>`sum(${usageHourly.rxBytes})`,
        txBytes: sql<string>`sum(${usageHourly.txBytes})`,
      })
      .from(usageHourly)
      .where(
        and(
          eq(isNode ? usageHourly.nodeId : usageHourly.networkId, id),
          gt(usageHourly.hour, new Date(first.getTime() - 1)),
        ),
      )
      .groupBy(usageHourly.hour),
    db
      .select({
        month: usageMonthly.month,
        rxBytes: sql<string>`sum(${usageMonthly.rxBytes})`,
        txBytes: sql<string>`sum(${usageMonthly.txBytes})`,
      })
      .from(usageMonthly)
      .where(eq(isNode ? usageMonthly.nodeId : usageMonthly.networkId, id))
      .groupBy(usageMonthly.month)
      .orderBy(usageMonthly.month),
  ]);
  const byHour = new Map(hourlyRows.map((r) => [r.hour.getTime(), r]));
  const hourly = Array.from({ length: q.hours }, (_, i) => {
    const hour = new Date(first.getTime() + i * HOUR_MS);
    const row = byHour.get(hour.getTime());
    return {
      hour: hour.toISOString(),
      rxBytes: Number(row?.rxBytes ?? 0),
      txBytes: Number(row?.txBytes ?? 0),
    };
  });
  const monthly = monthlyRows.map((r) => ({
    month: r.month,
    rxBytes: Number(r.rxBytes),
    txBytes: Number(r.txBytes),
  }));
  return { hourly, monthly };
}

/** A network's peers with the most traffic (received + sent) in a month, most first. */
export async function topTalkers(db: Db, q: TopQuery) {
  const month = q.month ?? monthOf(new Date());
  const total = sql<number>`${usageMonthly.rxBytes} + ${usageMonthly.txBytes}`;
  const items = await db
    .select({
      nodeId: usageMonthly.nodeId,
      publicKey: usageMonthly.publicKey,
      nodeName: usageMonthly.nodeName,
      rxBytes: usageMonthly.rxBytes,
      txBytes: usageMonthly.txBytes,
    })
    .from(usageMonthly)
    .where(and(eq(usageMonthly.networkId, q.networkId), eq(usageMonthly.month, month), gt(total, 0)))
    .orderBy(desc(total), usageMonthly.publicKey)
    .limit(q.limit);
  return { month, items: items.map((r) => ({ ...r, totalBytes: r.rxBytes + r.txBytes })) };
}
