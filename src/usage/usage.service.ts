import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { nodes, transaction, usageHourly, usageMonthly } from "../db/index.js";
import type { Counters, UsageState } from "./accounting.js";
import { accumulate, hourOf, monthOf, readingDelta } from "./accounting.js";
import type { SeriesQuery, TopQuery } from "./report.js";
import { topTalkers, usageSeries } from "./report.js";

export interface PeerReading extends Counters {
  publicKey: string;
  /** Unix seconds of the latest handshake; 0 when there was none. */
  latestHandshake: number;
}

export interface UsageQuery {
  nodeId?: string | undefined;
  networkId?: string | undefined;
  email?: string | undefined;
  publicKey?: string | undefined;
  month?: string | undefined;
  /** Add each row's all-time totals (every month of the same peer in the same network). */
  withAllTime?: boolean;
  limit: number;
  offset: number;
}

export type UsageService = ReturnType<typeof createUsageService>;

const BATCH = 1_000;

/** The stored row's columns that a reading may change. */
interface StoredUsage extends UsageState {
  nodeId: string | null;
  nodeName: string | null;
  email: string | null;
}

/**
 * True when writing `next` would change the stored row `before` (as the upsert writes it: a node
 * that is gone keeps its last name and email).
 */
function changes(before: StoredUsage, next: StoredUsage): boolean {
  return (
    next.month !== before.month ||
    next.rxBytes !== before.rxBytes ||
    next.txBytes !== before.txBytes ||
    next.lastRx !== before.lastRx ||
    next.lastTx !== before.lastTx ||
    next.nodeId !== before.nodeId ||
    (next.nodeName ?? before.nodeName) !== before.nodeName ||
    (next.email ?? before.email) !== before.email
  );
}

/** Monthly transfer per peer, from interface readings; and handshake times onto nodes. */
export function createUsageService(db: Db) {
  /** Every month's totals of the rows' peers, by `networkId/publicKey`. */
  async function allTimeTotals(rows: readonly { networkId: string | null; publicKey: string }[]) {
    const keys = [...new Set(rows.map((r) => r.publicKey))];
    if (keys.length === 0) return new Map<string, { rxBytes: number; txBytes: number }>();
    const sums = await db
      .select({
        networkId: usageMonthly.networkId,
        publicKey: usageMonthly.publicKey,
        rxBytes: sql<string>`sum(${usageMonthly.rxBytes})`,
        txBytes: sql<string>`sum(${usageMonthly.txBytes})`,
      })
      .from(usageMonthly)
      .where(inArray(usageMonthly.publicKey, keys))
      .groupBy(usageMonthly.networkId, usageMonthly.publicKey);
    return new Map(
      sums.map((r) => [
        `${r.networkId}/${r.publicKey}`,
        { rxBytes: Number(r.rxBytes), txBytes: Number(r.txBytes) },
      ]),
    );
  }

  return {
    /**
     * Records one reading of every peer of a network's interface: accumulates monthly usage (resets
     * handled), adds each known node's delta to its bucket of the hour, and stores each node's latest handshake. Returns how many peers were recorded. Only
     * rows that change are written: an idle peer's row (same month, same counters, same node) is left
     * as it is, so a collection over 10,000 mostly idle peers rewrites a handful of rows, not all of
     * them (every rewrite is a dead tuple for autovacuum and a WAL record). A row's `updatedAt` is
     * thus when its peer last moved traffic or its node details last changed.
     */
    async recordReadings(
      networkId: string,
      readings: readonly PeerReading[],
      now = new Date(),
    ): Promise<number> {
      if (readings.length === 0) return 0;
      const month = monthOf(now);
      const known = await db
        .select({
          id: nodes.id,
          publicKey: nodes.publicKey,
          name: nodes.name,
          email: nodes.email,
          lastHandshakeAt: nodes.lastHandshakeAt,
        })
        .from(nodes)
        .where(eq(nodes.networkId, networkId));
      const byKey = new Map(known.map((n) => [n.publicKey, n]));
      const latest = await db
        .selectDistinctOn([usageMonthly.publicKey])
        .from(usageMonthly)
        .where(eq(usageMonthly.networkId, networkId))
        .orderBy(usageMonthly.publicKey, desc(usageMonthly.month));
      const previous = new Map(latest.map((r) => [r.publicKey, r]));

      const hour = hourOf(now);
      const rows: (typeof usageMonthly.$inferInsert)[] = [];
      const buckets: (typeof usageHourly.$inferInsert)[] = [];
      for (const reading of readings) {
        const node = byKey.get(reading.publicKey);
        const before = previous.get(reading.publicKey);
        const delta = readingDelta(before, reading);
        if (node && (delta.rx > 0 || delta.tx > 0)) {
          buckets.push({ nodeId: node.id, networkId, hour, rxBytes: delta.rx, txBytes: delta.tx });
        }
        const next = accumulate(before, reading, month);
        const row = {
          networkId,
          nodeId: node?.id ?? null,
          publicKey: reading.publicKey,
          nodeName: node?.name ?? null,
          email: node?.email ?? null,
          ...next,
          updatedAt: now,
        };
        if (before === undefined || changes(before, row)) rows.push(row);
      }
      // Only handshakes newer than the node's: an idle peer reports the same one collection after
      // collection (the update below checks again, against a concurrent writer).
      const handshakes = readings.filter((r) => {
        const node = byKey.get(r.publicKey);
        return node !== undefined && r.latestHandshake * 1000 > (node.lastHandshakeAt?.getTime() ?? 0);
      });
      if (rows.length === 0 && handshakes.length === 0) return readings.length;
      await transaction(db, async (tx) => {
        for (let i = 0; i < rows.length; i += BATCH) {
          await tx
            .insert(usageMonthly)
            .values(rows.slice(i, i + BATCH))
            .onConflictDoUpdate({
              target: [usageMonthly.networkId, usageMonthly.publicKey, usageMonthly.month],
              set: {
                rxBytes: sql`excluded.rx_bytes`,
                txBytes: sql`excluded.tx_bytes`,
                lastRx: sql`excluded.last_rx`,
                lastTx: sql`excluded.last_tx`,
                nodeId: sql`excluded.node_id`,
                nodeName: sql`coalesce(excluded.node_name, ${usageMonthly.nodeName})`,
                email: sql`coalesce(excluded.email, ${usageMonthly.email})`,
                updatedAt: sql`excluded.updated_at`,
              },
            });
        }
        for (let i = 0; i < buckets.length; i += BATCH) {
          await tx
            .insert(usageHourly)
            .values(buckets.slice(i, i + BATCH))
            .onConflictDoUpdate({
              target: [usageHourly.nodeId, usageHourly.hour],
              set: {
                rxBytes: sql`${usageHourly.rxBytes} + excluded.rx_bytes`,
                txBytes: sql`${usageHourly.txBytes} + excluded.tx_bytes`,
              },
            });
        }
        for (let i = 0; i < handshakes.length; i += BATCH) {
          const values = handshakes
            .slice(i, i + BATCH)
            .map((r) => sql`(${r.publicKey}, to_timestamp(${r.latestHandshake}))`);
          await tx.execute(sql`
            update ${nodes} set last_handshake_at = v.at
            from (values ${sql.join(values, sql`, `)}) as v(key, at)
            where ${nodes.networkId} = ${networkId} and ${nodes.publicKey} = v.key
              and (${nodes.lastHandshakeAt} is null or ${nodes.lastHandshakeAt} < v.at)`);
        }
      });
      return readings.length;
    },

    /**
     * Usage rows, newest month first, then by most traffic; with the total count. With `withAllTime`
     * each row carries `allTime`, its peer's totals over every month.
     */
    async list(q: UsageQuery) {
      const where = and(
        q.nodeId ? eq(usageMonthly.nodeId, q.nodeId) : undefined,
        q.networkId ? eq(usageMonthly.networkId, q.networkId) : undefined,
        q.email ? sql`lower(${usageMonthly.email}) = ${q.email.toLowerCase()}` : undefined,
        q.publicKey ? eq(usageMonthly.publicKey, q.publicKey) : undefined,
        q.month ? eq(usageMonthly.month, q.month) : undefined,
      );
      const [items, [total]] = await Promise.all([
        db
          .select({
            networkId: usageMonthly.networkId,
            nodeId: usageMonthly.nodeId,
            publicKey: usageMonthly.publicKey,
            nodeName: usageMonthly.nodeName,
            email: usageMonthly.email,
            month: usageMonthly.month,
            rxBytes: usageMonthly.rxBytes,
            txBytes: usageMonthly.txBytes,
            updatedAt: usageMonthly.updatedAt,
          })
          .from(usageMonthly)
          .where(where)
          .orderBy(desc(usageMonthly.month), sql`${usageMonthly.rxBytes} + ${usageMonthly.txBytes} desc`)
          .limit(q.limit)
          .offset(q.offset),
        db.select({ n: sql<number>`count(*)::int` }).from(usageMonthly).where(where),
      ]);
      const allTime = q.withAllTime ? await allTimeTotals(items) : undefined;
      return {
        items: items.map((row) => ({ ...row, allTime: allTime?.get(`${row.networkId}/${row.publicKey}`) })),
        total: total?.n ?? 0,
      };
    },

    series: (q: SeriesQuery, now = new Date()) => usageSeries(db, q, now),
    topTalkers: (q: TopQuery) => topTalkers(db, q),
  };
}
