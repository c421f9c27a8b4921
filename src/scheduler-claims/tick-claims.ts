import { hostname } from "node:os";
import { sql } from "drizzle-orm";
import type { Database } from "../db/index.js";
import { schedulerTicks } from "../db/index.js";

/** The scheduler's ticks, each claimed under its own name. */
export const TICK_NAMES = [
  "reconcile",
  "stale-run-check",
  "node-liveness",
  "outbox-relay",
  "retention",
  "quota-restore",
] as const;
export type TickName = (typeof TICK_NAMES)[number];

/** Advisory lock class of tick locks ("tick" in ASCII); the second key is the tick's name. */
const TICK_LOCK_CLASS = 0x7469636b;

export interface TickClaims {
  /** Who claims: `host:pid` of this process. */
  readonly holder: string;
  /**
   * Claims `slot` (the start of a tick's period) of `tick` for this process. True when no process
   * has claimed this slot or a later one of the tick: the caller does the period's work. Atomic in
   * Postgres, so of any number of processes claiming one slot at once exactly one gets true.
   */
  claim(tick: TickName, slot: Date): Promise<boolean>;
  /**
   * Runs `fn` while this process holds the lock of `tick`, so no two processes run it at once;
   * `{ ran: false }` without running it when another process holds the lock. The lock goes with the
   * holding transaction: when `fn` settles, or when the process or its connection dies.
   */
  exclusive<T>(tick: TickName, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

/** Tick claims on `database`; `holder` names this process in the table and logs (default `host:pid`). */
export function createTickClaims(deps: {
  database: Pick<Database, "db" | "kind">;
  holder?: string;
}): TickClaims {
  const { db, kind } = deps.database;
  const holder = deps.holder ?? `${hostname()}:${process.pid}`;
  return {
    holder,
    async claim(tick, slot) {
      const claimed = await db
        .insert(schedulerTicks)
        .values({ name: tick, slot, claimedBy: holder })
        .onConflictDoUpdate({
          target: schedulerTicks.name,
          set: { slot, claimedBy: holder, claimedAt: sql`now()` },
          setWhere: sql`${schedulerTicks.slot} < excluded.slot`,
        })
        .returning({ name: schedulerTicks.name });
      return claimed.length === 1;
    },
    async exclusive(tick, fn) {
      // Embedded PGlite serves one process, which is the only one that can relay; and a transaction
      // there holds the whole database, so `fn`'s own queries would wait for it forever.
      if (kind === "pglite") return { ran: true, value: await fn() };
      // Foot-gun: not `transaction`, whose body may run again and touches nothing but `tx`. This
      // transaction only holds the lock (idle while `fn` works on other pooled connections) and must
      // never run `fn` twice.
      return db.transaction(async (tx) => {
        const [row] = (await tx.execute(
          sql`select pg_try_advisory_xact_lock(${TICK_LOCK_CLASS}::int, hashtext(${tick})) as locked`,
        )) as unknown as { locked: boolean }[];
        if (!row?.locked) return { ran: false as const };
        return { ran: true as const, value: await fn() };
      });
    },
  };
}
