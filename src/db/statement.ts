import type { Query, SQL } from "drizzle-orm";
import type { PgColumn, SelectedFieldsOrdered } from "drizzle-orm/pg-core";
import type { Executor } from "./client.js";

/**
 * A query whose SQL drizzle builds once, run on the pool or inside a transaction with only its
 * placeholders (`sql.placeholder(name)`) filled in. drizzle builds a query's text anew every time it
 * runs: ~50 µs for a small insert, ~200 µs for a 20-column insert with `returning()`. On a path that
 * runs in every enrollment, that was about a fifth of the API call. Values that are not placeholders are
 * fixed when the statement is built.
 *
 * `build` makes the query (it is never run); `columns` are the result's columns when it returns rows
 * (a flat record, as for `select(...)` or `returning(...)`; the whole table's `getTableColumns`), and
 * drizzle maps them as for the query itself. Without `columns`, rows are returned as the driver
 * decodes them, keyed by the names the query gives its columns (alias them: `sql\`…\`.as("name")`):
 * no mapping per value, for reads of thousands of rows.
 *
 * The text is built with the dialect of the first executor it runs on: every database wiresync opens
 * has the same (Postgres, snake_case columns), so one text serves them all.
 */
export function builtOnce<Params extends Record<string, unknown>, Row = never>(
  build: (exec: Executor) => { toSQL(): Query },
  columns?: Record<string, PgColumn | SQL | SQL.Aliased>,
): (exec: Executor, params: Params) => Promise<Row[]> {
  let query: Query | undefined;
  const fields: SelectedFieldsOrdered | undefined = columns
    ? Object.entries(columns).map(([key, field]) => ({ path: [key], field }))
    : undefined;
  return async (exec, params) => {
    query ??= build(exec).toSQL();
    // Bound to `exec`'s session: inside a transaction it runs on the transaction's connection.
    const prepared = exec._.session.prepareQuery(query, fields, undefined, fields !== undefined);
    const result = (await prepared.execute(params)) as Row[] | { rows: Row[] };
    // postgres.js answers an array of rows, PGlite an object holding them.
    return Array.isArray(result) ? result : result.rows;
  };
}
