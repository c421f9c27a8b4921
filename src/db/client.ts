/**
 * Database connections: postgres.js for a real server, PGlite (embedded Postgres in WASM) when no
 * `DATABASE_URL` is set. Both speak the same SQL and run the same migrations from `drizzle/`.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type { Sql } from "postgres";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything a repo function can run a query on: the pool or an open transaction. */
export type Executor = Db | Tx;

export type DatabaseOptions =
  | {
      kind: "postgres";
      url: string;
      poolSize?: number;
      /** Run queries as prepared statements (default true); see `preparing`. */
      prepare?: boolean;
    }
  | { kind: "pglite"; dataDir: string };

export interface Database {
  readonly db: Db;
  readonly kind: DatabaseOptions["kind"];
  /** Runs `select 1`; throws when the database does not answer. */
  ping(): Promise<void>;
  /** Applies every migration in `drizzle/` not yet applied. Safe with several processes starting at once. */
  migrate(): Promise<void>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` (delivered when the notifying transaction commits),
   * on a connection of its own that reconnects by itself. Resolves to a function that stops listening.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Advisory lock id that serialises migrations across processes ("wire" in ASCII). */
const MIGRATION_LOCK_ID = 0x77697265;

/** Opens a database connection (the PGlite data directory is created when missing). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const migrationsFolder = findMigrationsFolder();
  if (options.kind === "postgres") {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(options.url, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
      idle_timeout: 60,
    });
    const pgDb = drizzle(driverClient(client, options.prepare !== false), {
      schema,
      casing: "snake_case",
    });
    const db = pgDb as unknown as Db;
    return {
      db,
      kind: "postgres",
      async ping() {
        await client`select 1`;
      },
      async migrate() {
        // The lock lives on a connection of its own, so the pool stays free for the migrator.
        const lock = postgres(options.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
        try {
          await lock`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
          await migrate(pgDb, { migrationsFolder });
        } finally {
          await lock.end({ timeout: 5 });
        }
      },
      async listen(channel, onNotify) {
        const { unlisten } = await client.listen(channel, () => onNotify());
        return unlisten;
      },
      async close() {
        await client.end({ timeout: 5 });
      },
    };
  }

  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  if (options.dataDir !== "memory://") await mkdir(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir);
  const db = drizzle(client, { schema, casing: "snake_case" }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    async ping() {
      await client.query("select 1");
    },
    async migrate() {
      await migrate(drizzle(client, { casing: "snake_case" }), { migrationsFolder });
    },
    async listen(channel, onNotify) {
      return client.listen(channel, () => onNotify());
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * The client drizzle sees: transactions that pipeline their BEGIN and, unless `prepare` is false,
 * every query run prepared.
 *
 * Prepared: drizzle runs queries through `sql.unsafe(text, params)`, which postgres.js treats as
 * unprepared, and postgres.js sends an unprepared query with parameters in two round trips
 * (Parse/Describe to learn the parameter types, then Bind/Execute) and pipelines nothing behind it
 * (drizzle-orm#6096). Prepared, a statement is parsed once per connection (postgres.js keeps them
 * until the connection is recycled, every 30–60 minutes) and each later run is one Bind/Execute that
 * pipelines with the queries around it. That halves the round trips of every transaction.
 *
 * Transactions: see `beginPipelined`.
 */
function driverClient(sql: Sql, prepare: boolean): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      switch (property) {
        case "unsafe":
          if (!prepare) break;
          return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
            target.unsafe(query, params as never, { ...options, prepare: true });
        case "begin":
          return (...args: unknown[]) => {
            const body = args.pop() as (scope: Sql) => unknown;
            const mode = typeof args[0] === "string" ? args[0] : "";
            return beginPipelined(target, mode, (scope) => body(driverClient(scope, prepare)));
          };
        case "savepoint": {
          // On a transaction's client: the savepoint's client is wrapped the same way.
          const savepoint = Reflect.get(target, property) as
            | ((inner: (scope: Sql) => unknown) => Promise<unknown>)
            | undefined;
          if (savepoint === undefined) break;
          return (inner: (scope: Sql) => unknown) =>
            savepoint.call(target, (scope: Sql) => inner(driverClient(scope, prepare)));
        }
        default:
          break;
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * Runs `body` in a transaction on a connection of the pool, BEGIN sent with the body's first
 * statements. postgres.js's own `begin` waits for BEGIN's answer before it runs the body: a round trip
 * of every transaction (a quarter of an enrollment's) spent on nothing. Commits when `body` resolves,
 * rolls back when it throws. Savepoints (nested drizzle transactions) work as with postgres.js.
 *
 * IMPORTANT: should the connection die mid-transaction, the transaction fails at once with the
 * connection's error, and every later statement of the body is refused. Postgres has rolled the
 * transaction back; the pool reconnects that connection for its next user, and a statement of the
 * body sent after that would run on the new session, outside any transaction, and be committed.
 */
async function beginPipelined<T>(pool: Sql, mode: string, body: (scope: Sql) => Promise<T> | T): Promise<T> {
  const connection = await pool.reserve();
  const send = connection.unsafe.bind(connection);
  let died: Error | null = null;
  let watched!: (err: Error) => void;
  const death = new Promise<never>((_, reject) => {
    watched = (err) => {
      died = err;
      reject(err);
    };
  });
  death.catch(() => {});
  const live = () => {
    if (died) throw died;
  };
  let savepoints = 0;
  const scope: Sql = Object.assign(connection, {
    unsafe: ((...args: Parameters<Sql["unsafe"]>) => {
      live();
      return send(...args);
    }) as Sql["unsafe"],
    async savepoint(inner: (scope: Sql) => unknown) {
      const name = `wiresync_s${savepoints++}`;
      await scope.unsafe(`savepoint ${name}`);
      try {
        const result = await inner(scope);
        await scope.unsafe(`release savepoint ${name}`);
        return result;
      } catch (err) {
        if (!died) await scope.unsafe(`rollback to savepoint ${name}`);
        throw err;
      }
    },
  });
  let watching: PgConnection | null = null;
  try {
    // Not awaited: it goes out in one write with what the body sends first. Should it fail, so do
    // those statements; it is awaited before the commit all the same. As postgres.js's `begin` does,
    // it learns the connection it runs on (`onexecute`), to hear of its death (`onclose`).
    const begun = send(`begin ${mode.replace(/[^a-z ]/gi, "")}`, [], {
      onexecute: (c: PgConnection) => {
        watching = c;
        c.onclose = watched;
        return true;
      },
    } as never).execute();
    begun.catch(() => {});
    try {
      const result = await Promise.race([body(scope), death]);
      await begun;
      if (watching === null) throw new Error("postgres.js did not say which connection runs the transaction");
      live();
      await send("commit");
      return result;
    } catch (err) {
      // A dead connection cannot roll back; Postgres ended its transaction when it went.
      if (!died) await send("rollback").catch(() => {});
      throw err;
    }
  } finally {
    const c = watching as PgConnection | null;
    if (c !== null && c.onclose === watched) c.onclose = null;
    connection.release();
  }
}

/** What postgres.js's `onexecute` hands over: the pool's connection a statement went out on. */
interface PgConnection {
  onclose: ((err: Error) => void) | null;
}

/** `drizzle/` next to package.json, whether running from sources (tsx) or from `dist/`. */
function findMigrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, "drizzle");
    if (existsSync(path.join(candidate, "meta", "_journal.json"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find the drizzle/ migrations folder; run from the wiresync checkout or image");
}
