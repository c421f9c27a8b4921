import type { Executor } from "./client.js";

/** A drizzle query builder (select, insert, update, delete) that can be prepared: drizzle's public API. */
interface Preparable {
  prepare(name: string): { execute(placeholders?: Record<string, unknown>): Promise<unknown> };
}

/**
 * A query with placeholders (`sql.placeholder(name)`), run on the pool or inside a transaction (on
 * the transaction's connection) with its values filled in; rows come back mapped as for the query
 * itself. `build` makes the query on the executor it runs on, once per executor: the pool's is built
 * on its first run and kept (drizzle's public `prepare()`; a prepared query holds no state between
 * runs), a transaction's on its first run in that transaction.
 *
 * Building is drizzle's work per run otherwise (the SQL text, the selection, the row mapping): on the
 * pool's hot paths (a node token's lookup, a heartbeat) it was a tenth of the API's CPU time.
 */
export function placeholderQuery<Params extends Record<string, unknown>, Row = never>(
  build: (exec: Executor) => Preparable,
): (exec: Executor, params: Params) => Promise<Row[]> {
  const built = new WeakMap<Executor, ReturnType<Preparable["prepare"]>>();
  return async (exec, params) => {
    let query = built.get(exec);
    if (!query) {
      query = build(exec).prepare("");
      built.set(exec, query);
    }
    return rowsOf<Row>(await query.execute(params));
  };
}

/**
 * The rows of a raw query or prepared statement, from either driver: postgres.js answers an array of
 * rows, PGlite an object holding them (`{ rows }`).
 */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}
