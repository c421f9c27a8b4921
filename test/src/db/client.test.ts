import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq, getTableName, is, sql } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Db, Executor } from "../../../src/db/index.js";
import { networks, nodes, openDatabase, schema } from "../../../src/db/index.js";
import { pgConstraint, pgErrorCode } from "../../../src/errors.js";
import { parseHubPeerLine } from "../../../src/mesh/hub-peers.js";
import { hubPeerRows, usedAddresses } from "../../../src/mesh/mesh.repo.js";
import { adminSql, databaseUrl } from "../../support/db.js";

/** Every table the schema declares, and every migration drizzle-kit made: what a fresh database must hold. */
const EXPECTED_TABLES = (Object.values(schema) as unknown[])
  .filter((v): v is PgTable => is(v, PgTable))
  .map((t) => getTableName(t))
  .sort();
const MIGRATIONS = (JSON.parse(readFileSync("drizzle/meta/_journal.json", "utf8")) as { entries: unknown[] })
  .entries.length;

async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

async function tablesOf(db: Db): Promise<string[]> {
  const found = await rows<{ table_name: string }>(
    db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return found.map((r) => r.table_name);
}

/** Every column of the public schema as `table.column type nullable`, to compare two databases. */
async function columnsOf(db: Db): Promise<string[]> {
  const found = await rows<{ c: string }>(
    db,
    sql`select table_name || '.' || column_name || ' ' || udt_name || ' ' || is_nullable as c
        from information_schema.columns where table_schema = 'public' order by 1`,
  );
  return found.map((r) => r.c);
}

/** Named constraints (PGlite is Postgres 17, which also lists NOT NULL ones: those are in `columnsOf`). */
async function constraintsOf(db: Db): Promise<string[]> {
  const found = await rows<{ conname: string }>(
    db,
    sql`select conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where n.nspname = 'public' and c.contype <> 'n' order by conname`,
  );
  return found.map((r) => r.conname);
}

async function appliedMigrations(db: Db): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return row?.n ?? 0;
}

function network(name: string, cidr4: string) {
  return {
    name,
    cidr4,
    hubIp4: cidr4.replace(/0\/\d+$/, "1"),
    hubPublicKey: `${"k".repeat(43)}=`,
    hubPrivateKeyEnc: "v1.test.x.y.z",
  };
}

/**
 * The reads every enrollment and every peer sync make, on a network of three nodes (one dual-stack
 * and carrying a route, one disabled): what they answer, the same on either database.
 */
async function meshReads(db: Db) {
  const [net] = await db
    .insert(networks)
    .values({ ...network("mesh-reads", "10.9.0.0/24"), cidr6: "fd00:9::/64", hubIp6: "fd00:9::1" })
    .returning();
  const node = (name: string, n: number, extra: Partial<typeof nodes.$inferInsert> = {}) => ({
    networkId: net!.id,
    name,
    publicKey: `${String.fromCharCode(65 + n).repeat(43)}=`,
    ip4: `10.9.0.${n + 2}`,
    ...extra,
  });
  await db
    .insert(nodes)
    .values([
      node("a", 0, { ip6: "fd00:9::2", extraAllowedIps: ["192.168.9.0/24"], endpoint: "198.51.100.7:51820" }),
      node("b", 1, { status: "disabled" }),
      node("c", 3),
    ]);
  const used = await usedAddresses(db, net!.id);
  const peers = (await hubPeerRows(db, net!.id)).flatMap((row) => row.split("\n")).map(parseHubPeerLine);
  const none = await usedAddresses(db, "00000000-0000-0000-0000-000000000000");
  await db.delete(nodes).where(eq(nodes.networkId, net!.id));
  await db.delete(networks).where(eq(networks.id, net!.id));
  // Node ids are random per database; everything else must match.
  return { used: { ...used, ip4: [...used.ip4].sort() }, peers: peers.map(({ id: _id, ...p }) => p), none };
}

/** The exclusion constraint refuses an overlapping range and accepts a disjoint one. */
async function expectCidrExclusion(db: Db) {
  await db.insert(networks).values(network("a", "10.1.0.0/16"));
  const overlap = await db
    .insert(networks)
    .values(network("b", "10.1.2.0/24"))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(overlap, "an overlapping range must be refused").toBeDefined();
  expect(pgErrorCode(overlap)).toBe("23P01");
  expect(pgConstraint(overlap)).toBe("networks_cidr4_excl");
  await db.insert(networks).values(network("c", "10.2.0.0/16"));
  const [row] = await rows<{ n: number }>(db, sql`select count(*)::int as n from networks`);
  expect(row?.n).toBe(2);
}

describe("migrations on postgres.js", () => {
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  let first: Database;
  let second: Database;

  beforeAll(async () => {
    // A brand-new empty database, not the migrated template.
    await adminSql(`create database "${name}"`);
    first = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 2 });
    second = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 2 });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await adminSql(`drop database if exists "${name}" with (force)`);
  });

  it("migrates an empty database from two connections at once, safely", async () => {
    expect(await tablesOf(first.db)).toEqual([]);
    await Promise.all([first.migrate(), second.migrate()]);
    expect(await tablesOf(first.db)).toEqual(EXPECTED_TABLES);
    expect(await appliedMigrations(first.db)).toBe(MIGRATIONS);
  });

  it("is a no-op the second time", async () => {
    const before = await columnsOf(first.db);
    await first.migrate();
    expect(await appliedMigrations(first.db)).toBe(MIGRATIONS);
    expect(await columnsOf(first.db)).toEqual(before);
  });

  it("refuses overlapping network ranges", async () => {
    await expectCidrExclusion(first.db);
  });
});

describe("prepared statements on Postgres", () => {
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  const opened: Database[] = [];
  const open = async (prepare?: boolean) => {
    const database = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 1, prepare });
    opened.push(database);
    return database;
  };
  /** The statements this session (the pool's one connection) has prepared that read `networks`. */
  const preparedOn = async (db: Db) =>
    (
      await rows<{ statement: string }>(
        db,
        sql`select statement from pg_prepared_statements where statement like '%from "networks"%'`,
      )
    ).length;

  beforeAll(async () => {
    await adminSql(`create database "${name}"`);
    await (await open()).migrate();
  });
  afterAll(async () => {
    for (const database of opened) await database.close();
    await adminSql(`drop database if exists "${name}" with (force)`);
  });

  it("prepares each query once per connection, in and out of transactions", async () => {
    const { db } = await open();
    const byName = (tx: Executor, n: string) => tx.select().from(networks).where(eq(networks.name, n));
    await byName(db, "a");
    await byName(db, "b");
    expect(await preparedOn(db)).toBe(1); // the second run reused the first's statement
    await db.transaction(async (tx) => {
      await byName(tx, "c");
      await tx.select({ id: networks.id }).from(networks).where(eq(networks.listenPort, 1));
    });
    expect(await preparedOn(db)).toBe(2);
    // Inside a nested transaction (a savepoint) too.
    await db.transaction((tx) =>
      tx.transaction((inner) =>
        inner.select({ name: networks.name }).from(networks).where(eq(networks.listenPort, 2)),
      ),
    );
    expect(await preparedOn(db)).toBe(3);
  });

  it("prepares nothing with prepare: false (for transaction-mode poolers)", async () => {
    const { db } = await open(false);
    await db.select().from(networks).where(eq(networks.name, "a"));
    await db.transaction((tx) => tx.select().from(networks).where(eq(networks.name, "b")));
    expect(await preparedOn(db)).toBe(0);
  });
});

describe("transactions on Postgres (guarded postgres.js begin)", () => {
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  let database: Database;
  const count = async (exec: Executor, label: string) =>
    (await exec.select({ id: networks.id }).from(networks).where(eq(networks.name, label))).length;

  beforeAll(async () => {
    await adminSql(`create database "${name}"`);
    // One connection: a transaction left open or aborted would break every later test.
    database = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 1 });
    await database.migrate();
  });
  afterAll(async () => {
    await database?.close();
    await adminSql(`drop database if exists "${name}" with (force)`);
  });

  it("runs the body in one transaction and commits it", async () => {
    const { db } = database;
    const seen = await db.transaction(async (tx) => {
      const [a] = await rows<{ xid: string }>(tx as unknown as Db, sql`select txid_current()::text as xid`);
      await tx.insert(networks).values(network("committed", "10.31.0.0/16"));
      const [b] = await rows<{ xid: string }>(tx as unknown as Db, sql`select txid_current()::text as xid`);
      return [a!.xid, b!.xid];
    });
    expect(seen[0]).toBe(seen[1]);
    expect(await count(db, "committed")).toBe(1);
  });

  it("rolls back when the body throws, and leaves the connection clean", async () => {
    const { db } = database;
    const oops = new Error("oops");
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(networks).values(network("rolled-back", "10.32.0.0/16"));
        throw oops;
      }),
    ).rejects.toBe(oops);
    expect(await count(db, "rolled-back")).toBe(0);
  });

  it("surfaces a failed statement, rolls back, and the next transaction starts clean", async () => {
    const { db } = database;
    const failed = await db
      .transaction(async (tx) => {
        await tx.insert(networks).values(network("before-failure", "10.33.0.0/16"));
        await tx.insert(networks).values(network("overlap", "10.33.1.0/24"));
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(pgErrorCode(failed)).toBe("23P01");
    expect(await count(db, "before-failure")).toBe(0);
    await db.transaction((tx) => tx.insert(networks).values(network("after-failure", "10.33.0.0/16")));
    expect(await count(db, "after-failure")).toBe(1);
  });

  it("rolls a nested transaction back to its savepoint and commits the rest", async () => {
    const { db } = database;
    await db.transaction(async (tx) => {
      await tx.insert(networks).values(network("outer", "10.34.0.0/16"));
      await tx
        .transaction(async (inner) => {
          await inner.insert(networks).values(network("inner", "10.35.0.0/16"));
          throw new Error("inner fails");
        })
        .catch(() => {});
      await tx.transaction((inner) => inner.insert(networks).values(network("inner-kept", "10.36.0.0/16")));
    });
    expect([await count(db, "outer"), await count(db, "inner"), await count(db, "inner-kept")]).toEqual([
      1, 0, 1,
    ]);
  });

  it("applies the isolation level asked for", async () => {
    const level = await database.db.transaction(
      async (tx) =>
        (
          await rows<{ l: string }>(
            tx as unknown as Db,
            sql`select current_setting('transaction_isolation') as l`,
          )
        )[0]!.l,
      { isolationLevel: "serializable" },
    );
    expect(level).toBe("serializable");
  });

  it("fails a transaction whose connection dies, and runs none of its later statements elsewhere", async () => {
    const { db } = database;
    let reused!: () => void;
    const connectionReused = new Promise<void>((resolve) => (reused = resolve));
    let queued: Promise<unknown> | undefined;
    const failed = db
      .transaction(async (tx) => {
        await tx.insert(networks).values(network("before-death", "10.37.0.0/16"));
        const [me] = await rows<{ pid: number }>(tx as unknown as Db, sql`select pg_backend_pid() as pid`);
        // Waits for the pool's only connection, held by this transaction, and takes it over once it
        // has died and reconnected.
        queued = db.execute(sql`select 1`).then(() => reused());
        await adminSql(`select pg_terminate_backend(${me!.pid})`);
        await connectionReused;
        await tx.insert(networks).values(network("after-death", "10.38.0.0/16"));
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(await failed).toBeInstanceOf(Error);
    await queued;
    expect([await count(db, "before-death"), await count(db, "after-death")]).toEqual([0, 0]);
    // The pool works on.
    await db.transaction((tx) => tx.insert(networks).values(network("after-reconnect", "10.38.0.0/16")));
    expect(await count(db, "after-reconnect")).toBe(1);
  });

  it("serves a transaction queued behind one whose connection died, and lets nothing of the dead one reach it", async () => {
    const { db } = database;
    let inserted!: () => void;
    const t2Inserted = new Promise<void>((resolve) => (inserted = resolve));
    let go!: () => void;
    const t2Go = new Promise<void>((resolve) => (go = resolve));
    let next: Promise<unknown> | undefined;
    const failed = db
      .transaction(async (tx) => {
        const [me] = await rows<{ pid: number }>(tx as unknown as Db, sql`select pg_backend_pid() as pid`);
        // Queued behind this transaction on the pool of one: it takes the connection over once it
        // has died and reconnected.
        next = db.transaction(async (t2) => {
          await t2.insert(networks).values(network("next-a", "10.39.0.0/16"));
          inserted();
          await t2Go;
          await t2.insert(networks).values(network("next-b", "10.45.0.0/16"));
        });
        await adminSql(`select pg_terminate_backend(${me!.pid})`);
        await t2Inserted;
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(await failed).toBeInstanceOf(Error);
    await t2Inserted;
    // The dead transaction's body has ended by now: nothing of it (a COMMIT, say) reached the next
    // transaction, whose row no other session sees before it commits.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outside = postgres(databaseUrl(name), { max: 1, onnotice: () => {} });
    try {
      const [row] = await outside`select count(*)::int as n from networks where name = 'next-a'`;
      expect(row!.n).toBe(0);
    } finally {
      await outside.end();
    }
    go();
    await next;
    expect([await count(db, "next-a"), await count(db, "next-b")]).toEqual([1, 1]);
  });

  it("queues transactions for a busy pool instead of mixing them on one connection", async () => {
    const { db } = database;
    const xids = await Promise.all(
      ["q1", "q2", "q3"].map((label, i) =>
        db.transaction(async (tx) => {
          await tx.insert(networks).values(network(label, `10.${40 + i}.0.0/16`));
          const [row] = await rows<{ xid: string }>(
            tx as unknown as Db,
            sql`select txid_current()::text as xid`,
          );
          return row!.xid;
        }),
      ),
    );
    expect(new Set(xids).size).toBe(3);
    expect(await count(db, "q1")).toBe(1);
    expect(await count(db, "q3")).toBe(1);
  });
});

describe("migrations on PGlite", () => {
  let pg: Database;
  let pglite: Database;
  let dir: string;
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "wiresync-pglite-"));
    await adminSql(`create database "${name}"`);
    pg = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 1 });
    await pg.migrate();
    pglite = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
  });
  afterAll(async () => {
    await pglite?.close();
    await pg?.close();
    await adminSql(`drop database if exists "${name}" with (force)`);
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the same tables, columns and constraints as on Postgres, and a second run is a no-op", async () => {
    await pglite.migrate();
    await pglite.migrate();
    expect(await appliedMigrations(pglite.db)).toBe(MIGRATIONS);
    expect(await tablesOf(pglite.db)).toEqual(EXPECTED_TABLES);
    expect(await columnsOf(pglite.db)).toEqual(await columnsOf(pg.db));
    expect(await constraintsOf(pglite.db)).toEqual(await constraintsOf(pg.db));
  });

  it("refuses overlapping network ranges", async () => {
    await expectCidrExclusion(pglite.db);
  });

  it("answers the mesh's hot reads (addresses in use, the hub's peers) as Postgres does", async () => {
    const onPglite = await meshReads(pglite.db);
    expect(onPglite.used).toEqual({
      ip4: ["10.9.0.2", "10.9.0.3", "10.9.0.5"],
      ip6: ["fd00:9::2"],
      hasRoutes: true,
      lease: null,
    });
    expect(onPglite.none).toEqual({ ip4: [], ip6: [], hasRoutes: false, lease: null });
    expect(onPglite.peers.map((p) => [p.ip4, p.ip6, p.extraAllowedIps, p.endpoint, p.status])).toEqual([
      ["10.9.0.2", "fd00:9::2", ["192.168.9.0/24"], "198.51.100.7:51820", "pending"],
      ["10.9.0.3", null, [], null, "disabled"],
      ["10.9.0.5", null, [], null, "pending"],
    ]);
    expect(onPglite).toEqual(await meshReads(pg.db));
  });

  it("keeps its data across a reopen of the directory", async () => {
    await pglite.close();
    pglite = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
    await pglite.migrate();
    const [row] = await rows<{ n: number }>(pglite.db, sql`select count(*)::int as n from networks`);
    expect(row?.n).toBe(2);
  });
});
