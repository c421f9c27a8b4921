/**
 * The upstream bugs src/db/postgres-workarounds.ts works around, checked on the postgres.js that is
 * installed. When one of these fails after an upgrade, upstream fixed the bug: remove its workaround
 * (and this check) rather than weaken the check.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../support/db.js";
import { adminSql, createTestDatabase } from "../../support/db.js";

describe("postgres.js bugs still present (remove the workaround once one fails)", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(1);
  });
  afterAll(async () => {
    await t.drop();
  });

  it("porsager/postgres#1195: a queued reserve() is lost when the connection it waits for closes (why transactions use a guarded begin)", async () => {
    const sql = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      const held = await sql.reserve();
      const [{ pid }] = (await held`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      let served = false;
      const queued = sql.reserve().then((r) => {
        served = true;
        return r;
      });
      // The pool's only connection dies while the reserve waits for it; the pool reconnects.
      await adminSql(`select pg_terminate_backend(${pid})`);
      // A query sent afterwards queues behind the reserve: fixed upstream, the reserve is served
      // first and the query waits for its release; with the bug, the query is served and the
      // reserve never is.
      const after = sql`select 1 as one`;
      const first = await Promise.race([
        queued.then(async (r) => {
          r.release();
          return "reserve served first";
        }),
        after.then(() => "query served, reserve lost"),
      ]);
      expect(first).toBe("query served, reserve lost");
      expect(served).toBe(false);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 30_000);
});

describe("postgres.js as patched on install (.ci/patches, applied by patch-package)", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(1);
  });
  afterAll(async () => {
    await t.drop();
  });

  it("porsager/postgres#1154, #1208: a query on a connection whose socket is gone fails with CONNECTION_CLOSED instead of the process", async () => {
    // Unpatched, the write goes through a setImmediate to a null socket: an uncaught TypeError that
    // ends the process (seen in test/workers/database-stall.test.ts, about 1 run in 6).
    const sql = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      const held = await sql.reserve();
      const [{ pid }] = (await held`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      await adminSql(`select pg_terminate_backend(${pid})`);
      // The reserved connection cannot be rotated away: once its close has arrived, it has no socket.
      await expect
        .poll(
          async () =>
            held`select 1`.then(
              () => "answered",
              (err: { code?: string }) => err.code,
            ),
          {
            timeout: 10_000,
          },
        )
        .toBe("CONNECTION_CLOSED");
      held.release();
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 30_000);
});
