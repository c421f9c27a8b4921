import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Executor } from "../../../src/db/index.js";
import { auditLog, openDatabase, placeholderQuery } from "../../../src/db/index.js";
import { createTestDatabase, type TestDatabase } from "../../support/db.js";

type AuditRow = typeof auditLog.$inferSelect;
type NewAudit = {
  actor: string;
  details: Record<string, unknown>;
};

/** The statements under test, and the executors drizzle was asked to build the insert on. */
function auditStatements() {
  const builtOn: Executor[] = [];
  const insert = placeholderQuery<NewAudit, AuditRow>((exec) => {
    builtOn.push(exec);
    return exec
      .insert(auditLog)
      .values({
        actor: sql.placeholder("actor"),
        action: "statement.test",
        entityType: "test",
        details: sql.placeholder("details"),
      })
      .returning();
  });
  const byActor = placeholderQuery<{ actor: string }, { id: number; details: Record<string, unknown> }>(
    (exec) =>
      exec
        .select({ id: auditLog.id, details: auditLog.details })
        .from(auditLog)
        .where(eq(auditLog.actor, sql.placeholder("actor"))),
  );
  return { insert, byActor, builtOn };
}

function behavesLikeTheQuery(open: () => Promise<{ database: Database; close(): Promise<void> }>) {
  let database: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ database, close } = await open());
  });
  afterAll(async () => {
    await close?.();
  });

  it("fills its placeholders on each run and maps rows as drizzle's own query does", async () => {
    const { insert, builtOn } = auditStatements();
    const [first] = await insert(database.db, { actor: "first", details: { n: 1, list: ["a"] } });
    const [second] = await insert(database.db, { actor: "second", details: { n: 2 } });
    // Built once on the pool and kept for its later runs.
    expect(builtOn).toEqual([database.db]);
    expect(first).toMatchObject({ actor: "first", action: "statement.test", details: { n: 1, list: ["a"] } });
    expect(second).toMatchObject({ actor: "second", details: { n: 2 } });
    expect(first!.at).toBeInstanceOf(Date);
    const [read] = await database.db.select().from(auditLog).where(eq(auditLog.id, first!.id));
    expect(first).toEqual(read);
  });

  it("runs on the transaction's connection: a rolled-back insert leaves nothing", async () => {
    const { insert, byActor, builtOn } = auditStatements();
    // Run on the pool first: a statement must not stay bound to where it first ran.
    await insert(database.db, { actor: "committed", details: {} });
    expect(await byActor(database.db, { actor: "rolled-back" })).toEqual([]);
    const rollback = new Error("roll back");
    await expect(
      database.db.transaction(async (tx) => {
        await insert(tx, { actor: "rolled-back", details: {} });
        // Built on the transaction itself, not on the pool it ran on first.
        expect(builtOn.at(-1)).toBe(tx);
        await insert(tx, { actor: "rolled-back", details: { again: true } });
        expect(builtOn.filter((e) => e === tx)).toHaveLength(1);
        // Seen inside the transaction, through the statement run on it.
        expect(await byActor(tx, { actor: "rolled-back" })).toHaveLength(2);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await byActor(database.db, { actor: "rolled-back" })).toEqual([]);
    expect(await byActor(database.db, { actor: "committed" })).toHaveLength(1);
  });

  it("refuses a run without a value for a placeholder, writing nothing", async () => {
    const { insert, byActor } = auditStatements();
    await expect(insert(database.db, { actor: "no-details" } as NewAudit)).rejects.toThrow(/details/);
    expect(await byActor(database.db, { actor: "no-details" })).toEqual([]);
  });
}

describe("placeholderQuery on Postgres", () => {
  behavesLikeTheQuery(async () => {
    const test: TestDatabase = await createTestDatabase(2);
    return { database: test.database, close: () => test.drop() };
  });
});

describe("placeholderQuery on PGlite", () => {
  behavesLikeTheQuery(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "wiresync-statement-"));
    const database = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
    await database.migrate();
    return {
      database,
      async close() {
        await database.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
});
