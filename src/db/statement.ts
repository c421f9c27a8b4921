import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
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

/** Renders statements as the database's drizzle does (src/db/client.ts: snake_case columns). */
const dialect = new PgDialect({ casing: "snake_case" });

/**
 * `placeholderQuery` for a statement a query builder cannot express (e.g. data-modifying CTEs):
 * `build` makes it on the executor it runs on, with `sql.placeholder(name)` for its values (query
 * builders holding placeholders may be parts of it), once per executor. Rows come back raw, keyed by the names Postgres gives them.
 */
export function placeholderStatement<Params extends Record<string, unknown>, Row = never>(
  build: (exec: Executor) => SQL,
): (exec: Executor, params: Params) => Promise<Row[]> {
  const prepared = new WeakMap<
    Executor,
    { execute(placeholders?: Record<string, unknown>): Promise<unknown> }
  >();
  return async (exec, params) => {
    let statement = prepared.get(exec);
    if (!statement) {
      statement = exec._.session.prepareQuery(dialect.sqlToQuery(build(exec)), undefined, "", false);
      prepared.set(exec, statement);
    }
    return rowsOf<Row>(await statement.execute(params));
  };
}

/**
 * The rows of a raw query or prepared statement, from either driver: postgres.js answers an array of
 * rows, PGlite an object holding them (`{ rows }`).
 */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}
