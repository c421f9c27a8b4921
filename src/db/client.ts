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
import { boundWait, driverClient, silenceGuard } from "./postgres-workarounds.js";
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
      /** Bounds on waiting for the server; `DEFAULT_DB_TIMEOUTS` unless given. */
      timeouts?: DatabaseTimeouts;
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

/**
 * How long the pool waits for Postgres. Without them a socket that stays open but silent (a stalled
 * proxy, a partitioned network: TCP keepalive probes are answered by the nearest hop, so they never
 * fail) holds every query sent on it for as long as the silence lasts.
 */
export interface DatabaseTimeouts {
  /** Opening a connection, through authentication. */
  connectTimeoutSeconds: number;
  /**
   * `statement_timeout` of every session: Postgres cancels a statement (or lock wait) running longer.
   * 0 sends none (the server's or role's setting holds): PgBouncer refuses unknown startup parameters
   * unless told to ignore them.
   */
  statementTimeoutMs: number;
  /**
   * Client-side bound: a connection that was sent something and has received nothing for this long
   * is destroyed, failing its queries with `CONNECTION_CLOSED` (a 503 at the API); the pool
   * reconnects. Also how long a query or transaction may wait for a connection (`boundWait`).
   * Longer than `statementTimeoutMs`, so a slow statement is cancelled by the server first.
   */
  responseTimeoutMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DatabaseTimeouts = {
  connectTimeoutSeconds: 5,
  statementTimeoutMs: 15_000,
  responseTimeoutMs: 20_000,
};

/** TCP keepalive of pool connections: a peer that is gone for good is noticed by the kernel. */
const KEEPALIVE_SECONDS = 30;

/** Advisory lock id that serialises migrations across processes ("wire" in ASCII). */
const MIGRATION_LOCK_ID = 0x77697265;

/** Opens a database connection (the PGlite data directory is created when missing). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const migrationsFolder = findMigrationsFolder();
  if (options.kind === "postgres") {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const timeouts = options.timeouts ?? DEFAULT_DB_TIMEOUTS;
    const client = postgres(options.url, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connect_timeout: timeouts.connectTimeoutSeconds,
      idle_timeout: 60,
      keep_alive: KEEPALIVE_SECONDS,
      ...(timeouts.statementTimeoutMs > 0
        ? { connection: { statement_timeout: timeouts.statementTimeoutMs } }
        : {}),
      ...silenceGuard(options.url, timeouts.responseTimeoutMs),
    });
    const pgDb = drizzle(driverClient(client, options.prepare !== false, timeouts.responseTimeoutMs), {
      schema,
      casing: "snake_case",
    });
    const db = pgDb as unknown as Db;
    return {
      db,
      kind: "postgres",
      async ping() {
        await boundWait(client`select 1`, timeouts.responseTimeoutMs);
      },
      async migrate() {
        // The lock lives on a connection of its own, and the migrations run there too: a migration
        // (an index built on a big table) may rightly take longer than the pool's statement timeout.
        const lock = postgres(options.url, {
          max: 1,
          onnotice: () => {},
          connect_timeout: timeouts.connectTimeoutSeconds,
        });
        try {
          await lock`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
          await migrate(drizzle(lock, { schema, casing: "snake_case" }), { migrationsFolder });
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
