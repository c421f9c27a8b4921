/**
 * The outbox as the live event stream reads it. Events get their stream position (`seq`) after they
 * commit, from the sequencer below, never in the transaction that writes them: a `seq` taken at insert
 * time could commit after a higher one, and a client resuming after the higher one would miss it.
 */
import { asc, gt, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/index.js";
import { events, rowsOf, transaction } from "../db/index.js";

/** Serialises sequencers across processes (any value unused by other advisory locks). */
const SEQUENCER_LOCK_ID = 0x65767371;

export interface StreamEventRow {
  seq: number;
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Gives up to `limit` committed events without a stream position one, oldest first, under a
 * transaction-scoped advisory lock: sequencers never interleave, so every `seq` is committed before
 * any higher one is taken and a reader of `seq > n` never sees a later event before an earlier one.
 * When another process holds the lock it returns 0 at once (that process sequences and announces).
 * Returns how many events it numbered.
 */
export async function sequencePending(db: Db, limit: number): Promise<number> {
  return transaction(db, async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(
      await tx.execute(sql`select pg_try_advisory_xact_lock(${SEQUENCER_LOCK_ID}) as locked`),
    );
    if (!lock?.locked) return 0;
    const numbered = await tx.execute(sql`
      update ${events} set seq = picked.seq
      from (
        select id, nextval('events_seq') as seq
        from (select id from ${events} where seq is null order by created_at, id limit ${limit}) oldest
      ) picked
      where ${events.id} = picked.id
      returning ${events.id}`);
    return rowsOf(numbered).length;
  });
}

/** Up to `limit` sequenced events after `seq`, in stream order. */
export async function eventsAfter(exec: Executor, seq: number, limit: number): Promise<StreamEventRow[]> {
  const rows = await exec
    .select({
      seq: events.seq,
      id: events.id,
      type: events.type,
      data: events.data,
      createdAt: events.createdAt,
    })
    .from(events)
    .where(gt(events.seq, seq))
    .orderBy(asc(events.seq))
    .limit(limit);
  return rows.map((r) => ({ ...r, seq: r.seq! }));
}

/** The highest stream position given so far (0 when none). */
export async function streamHead(exec: Executor): Promise<number> {
  const [row] = await exec.select({ head: sql<string | null>`max(${events.seq})` }).from(events);
  return row?.head ? Number(row.head) : 0;
}
