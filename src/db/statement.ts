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
 *
 * A transaction's run is not built again either: the query built first on an executor of the same
 * driver is copied with the transaction's client in place of its own (drizzle's prepared queries run
 * every statement through `this.client`, and their other fields are the same for every session of a
 * database). Building in every transaction was most of drizzle's share of an enrollment's CPU time.
 * Foot-gun: this relies on drizzle's session and prepared-query internals (`session.client`,
 * `client` on the query; drizzle-orm 0.45); test/src/db/statement.test.ts checks a transaction's
 * run lands in that transaction, on Postgres and on PGlite.
 */
export function placeholderQuery<Params extends Record<string, unknown>, Row = never>(
  build: (exec: Executor) => Preparable,
): (exec: Executor, params: Params) => Promise<Row[]> {
  type Prepared = ReturnType<Preparable["prepare"]>;
  const built = new WeakMap<Executor, Prepared>();
  /** Per driver (the session's class): the first query built, to copy for other executors. */
  const templates = new Map<unknown, Prepared>();
  return async (exec, params) => {
    let query = built.get(exec);
    if (!query) {
      const session = (exec as unknown as { session?: { client?: unknown } }).session;
      const template = session?.client === undefined ? undefined : templates.get(session.constructor);
      if (template && session) {
        query = Object.assign(
          Object.create(Object.getPrototypeOf(template) as object) as Prepared,
          template,
          {
            client: session.client,
          },
        );
      } else {
        query = build(exec).prepare("");
        if (session?.client !== undefined && "client" in query) templates.set(session.constructor, query);
      }
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
