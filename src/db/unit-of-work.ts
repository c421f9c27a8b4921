/**
 * The unit of work: every transaction of wiresync runs through `transaction`, which owns the retry
 * policy and the dispatch of work that must wait for the commit. Defined once, tested once
 * (test/src/db/unit-of-work.test.ts).
 */
import { isStalePlan, pgErrorCode } from "../errors.js";
import type { Db, Tx } from "./client.js";

/** A serialization failure or deadlock is retried this many times (the whole body runs again). */
export const DEFAULT_TX_RETRIES = 5;
/**
 * A statement a schema change made stale fails once on each pooled connection holding it: more
 * retries than any pool has connections, counted apart from `retries`.
 */
export const STALE_PLAN_RETRIES = 64;

/** Registers `task` to run once the transaction has committed; never when it rolls back. */
export type AfterCommit = (task: () => Promise<unknown> | unknown) => void;

export interface TransactionOptions {
  /** Retries of a serialization failure (40001) or deadlock (40P01); `DEFAULT_TX_RETRIES` unless given. */
  retries?: number;
  /**
   * Further failures worth running the body again for, sharing the `retries` budget (e.g. a unique
   * address taken by a concurrent insert: allocate again).
   */
  retryIf?: (err: unknown) => boolean;
  /**
   * Told of an after-commit task that threw. The task's failure never fails the call: the change is
   * committed, and whatever the task triggers must be repairable without it (the scheduled reconcile).
   */
  onAfterCommitError?: (err: unknown) => void;
}

/** True for the Postgres failures that a fresh attempt of the same transaction may pass. */
export function isRetryableTxError(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code === "40001" || code === "40P01";
}

/**
 * Runs `fn` in one transaction and returns its result once every after-commit task has settled.
 *
 * Contract for `fn`: it may run more than once (each retry starts afresh), so it touches nothing but
 * `tx`; anything else (queue a job, call out) goes through `afterCommit`, whose tasks registered by a
 * failed attempt are dropped. Tasks run in the order registered, concurrently, after the commit.
 */
export async function transaction<T>(
  db: Db,
  fn: (tx: Tx, afterCommit: AfterCommit) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const maxRetries = options.retries ?? DEFAULT_TX_RETRIES;
  let retries = 0;
  let stalePlans = 0;
  for (;;) {
    const tasks: (() => Promise<unknown> | unknown)[] = [];
    let result: T;
    try {
      result = await db.transaction((tx) => fn(tx, (task) => tasks.push(task)));
    } catch (err) {
      if (isStalePlan(err) && stalePlans++ < STALE_PLAN_RETRIES) continue;
      const retry = isRetryableTxError(err) || (options.retryIf?.(err) ?? false);
      if (retry && retries++ < maxRetries) continue;
      throw err;
    }
    if (tasks.length > 0) {
      const report = options.onAfterCommitError ?? (() => {});
      await Promise.all(tasks.map((task) => Promise.resolve().then(task).catch(report)));
    }
    return result;
  }
}
