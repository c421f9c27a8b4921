/**
 * Queries sent together on one transaction's connection, awaited together. Pure promise handling.
 */

/**
 * The results of `queries`, which were sent at once (pipelined) on one transaction. When some fail,
 * throws the error of the first that failed in the order given: in a transaction that one is the
 * cause, and those after it only report that the transaction was aborted. `Promise.all` would throw
 * whichever failed first in time instead, and a statement postgres.js retries (a stale prepared
 * plan) fails after the ones behind it.
 */
export async function pipelined<T extends readonly unknown[]>(
  queries: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(queries);
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
