import type { Executor } from "./client.js";

/** A drizzle query builder (select, insert, update, delete) that can be prepared: drizzle's public API. */
interface Preparable {
  prepare(name: string): { execute(placeholders?: Record<string, unknown>): Promise<unknown> };
}

/**
 * A query with placeholders (`sql.placeholder(name)`), run on the pool or inside a transaction (on
 * the transaction's connection) with its values filled in; rows come back mapped as for the query
 * itself. `build` makes the query on the executor it runs on.
 *
 * Not built once any more: building the text once and running it through drizzle's session
 * internals saved less than 10 % of an enrollment (test/bench/enroll.bench.ts (d), p50 ratio
 * 2.76–2.95× without it against 3.00–3.62× with it, API call 14.1–14.7 ms against 15.4–19.9 ms).
 */
export function placeholderQuery<Params extends Record<string, unknown>, Row = never>(
  build: (exec: Executor) => Preparable,
): (exec: Executor, params: Params) => Promise<Row[]> {
  return async (exec, params) => {
    const result = (await build(exec).prepare("").execute(params)) as Row[] | { rows: Row[] };
    // postgres.js answers an array of rows, PGlite an object holding them.
    return Array.isArray(result) ? result : result.rows;
  };
}
