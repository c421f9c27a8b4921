/**
 * The pool's bounds on waiting for Postgres: the server-side statement timeout each session gets,
 * and the client-side response bound that drops a connection gone silent (through a stalled proxy).
 */
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/index.js";
import { openDatabase } from "../../../src/db/index.js";
import { isDatabaseUnreachable, pgErrorCode } from "../../../src/errors.js";
import { createTestDatabase } from "../../support/db.js";
import { TEST_DATABASE_URL } from "../../support/env.js";
import { TcpProxy } from "../../support/tcp-proxy.js";

const opened: Database[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  const stalled = proxies.splice(0);
  for (const p of stalled) p.resume();
  await Promise.all(opened.splice(0).map((d) => d.close()));
  await Promise.all(stalled.map((p) => p.stop()));
});

async function open(
  url: string,
  statementTimeoutMs: number,
  responseTimeoutMs: number,
  poolSize = 2,
  connectTimeoutSeconds = 2,
) {
  const database = await openDatabase({
    kind: "postgres",
    url,
    poolSize,
    timeouts: { connectTimeoutSeconds, statementTimeoutMs, responseTimeoutMs },
  });
  opened.push(database);
  return database;
}

const first = async (database: Database, query: ReturnType<typeof sql>) =>
  ((await database.db.execute(query)) as unknown as Record<string, unknown>[])[0];

describe("database timeouts", () => {
  it("sets statement_timeout on every session: a longer statement is cancelled, the connection kept", async () => {
    const database = await open(TEST_DATABASE_URL, 300, 5_000);
    expect(await first(database, sql`show statement_timeout`)).toEqual({ statement_timeout: "300ms" });
    const err = await database.db.execute(sql`select pg_sleep(3)`).catch((e: unknown) => e);
    expect(pgErrorCode(err)).toBe("57014"); // query_canceled, by the server
    expect(isDatabaseUnreachable(err)).toBe(true); // a 503 at the API: retrying may well work
    const [pid1, pid2] = [
      await first(database, sql`select pg_backend_pid() as pid`),
      await first(database, sql`select pg_backend_pid() as pid`),
    ];
    expect(pid1).toEqual(pid2);
  });

  it("sends no statement_timeout when it is 0: the server's own setting holds", async () => {
    const sent = await open(TEST_DATABASE_URL, 300, 5_000);
    const source = sql`select source from pg_settings where name = 'statement_timeout'`;
    expect(await first(sent, source)).toEqual({ source: "client" });
    const unsent = await open(TEST_DATABASE_URL, 0, 5_000);
    expect(await first(unsent, source)).not.toEqual({ source: "client" });
  });

  it("fails a query on a silent connection after the response bound, then the next ones at once, and reconnects after", async () => {
    const target = new URL(TEST_DATABASE_URL);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    proxies.push(proxy);
    await proxy.start();
    const through = new URL(TEST_DATABASE_URL);
    through.hostname = "127.0.0.1";
    through.port = String(proxy.port);
    // One connection: the query right after the failure goes to the same, just-dropped connection.
    const database = await open(through.toString(), 500, 1_000, 1);
    expect(await first(database, sql`select 1 as one`)).toEqual({ one: 1 });

    proxy.stall();
    const started = performance.now();
    // IMPORTANT: the next query is sent in the same microtask run as the failure is seen, as code
    // retrying at once does; it must fail too (here by the connect timeout), not wait forever.
    const next: { at?: number; result?: Promise<unknown> } = {};
    const err = await database.db.execute(sql`select 2 as two`).catch((e: unknown) => {
      next.at = performance.now();
      next.result = database.db.execute(sql`select 3 as three`).catch((e2: unknown) => e2);
      return e;
    });
    const waitedMs = performance.now() - started;
    const nextErr = await next.result;
    // drizzle wraps the driver's error; the driver's is its cause.
    expect((err as { cause?: { code?: string } }).cause?.code).toBe("CONNECTION_CLOSED");
    expect(isDatabaseUnreachable(err)).toBe(true);
    expect(waitedMs).toBeGreaterThanOrEqual(900);
    expect(waitedMs).toBeLessThan(10_000);
    expect((nextErr as { cause?: { code?: string } }).cause?.code).toBe("CONNECT_TIMEOUT");
    expect(performance.now() - (next.at ?? 0)).toBeLessThan(10_000);

    proxy.resume();
    await expect
      .poll(() => first(database, sql`select 4 as four`).catch(() => null), { timeout: 10_000 })
      .toEqual({ four: 4 });
  });

  it("fails queries and transactions waiting for a connection after the bound, and they write nothing later", async () => {
    const target = await createTestDatabase(1);
    const proxy = new TcpProxy({
      host: new URL(target.url).hostname,
      port: Number(new URL(target.url).port || 5432),
    });
    proxies.push(proxy);
    await proxy.start();
    const through = new URL(target.url);
    through.hostname = "127.0.0.1";
    through.port = String(proxy.port);
    try {
      // One connection and a connect timeout three times the bound: without the bound, each waiting
      // query would wait a connect timeout for every one ahead of it.
      const database = await open(through.toString(), 500, 1_000, 1, 3);
      await database.db.execute(sql`create table stall_writes (x int)`);

      proxy.stall();
      const started = performance.now();
      const settle = (p: Promise<unknown>) =>
        p.then(
          () => ({ ok: true, ms: performance.now() - started }),
          (err: unknown) => ({ ok: false, ms: performance.now() - started, err }),
        );
      const outcomes = await Promise.all([
        ...[1, 2, 3, 4].map((i) => settle(database.db.execute(sql`select ${i}::int as i`))),
        settle(database.db.execute(sql`insert into stall_writes values (1)`)),
        ...[2, 3, 4].map((i) =>
          settle(database.db.transaction((tx) => tx.execute(sql`insert into stall_writes values (${i})`))),
        ),
      ]);
      for (const o of outcomes) {
        expect(o.ok).toBe(false);
        expect(isDatabaseUnreachable((o as { err: unknown }).err)).toBe(true);
      }
      const slowestMs = Math.max(...outcomes.map((o) => o.ms));
      expect(slowestMs).toBeLessThan(8_000); // without the bound: ~1 s + 7 × 3 s

      proxy.resume();
      // FIFO: once this answers, everything that waited before it has been run or dropped.
      await expect
        .poll(() => first(database, sql`select count(*)::int as n from stall_writes`).catch(() => null), {
          timeout: 15_000,
        })
        .toEqual({ n: 0 });
      // The connection is still the pool's: it serves a write and a transaction.
      await database.db.execute(sql`insert into stall_writes values (5)`);
      await database.db.transaction((tx) => tx.execute(sql`insert into stall_writes values (6)`));
      expect(await first(database, sql`select count(*)::int as n from stall_writes`)).toEqual({ n: 2 });
    } finally {
      await target.drop();
    }
  });
});
