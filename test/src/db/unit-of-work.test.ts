/**
 * The unit of work (src/db/unit-of-work.ts) on a real Postgres: which failures run the body again,
 * how often, and that after-commit tasks run once, after the commit, and only for the attempt that
 * committed.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db, Tx } from "../../../src/db/index.js";
import { DEFAULT_TX_RETRIES, transaction } from "../../../src/db/index.js";
import { DomainError, pgErrorCode } from "../../../src/errors.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";

/** Fails the transaction with a real Postgres error of SQLSTATE `code`. */
const raise = (tx: Tx, code: string) =>
  tx.execute(sql.raw(`do $$ begin raise exception 'injected' using errcode = '${code}'; end $$`));

async function rows<T>(db: Db | Tx, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

describe("transaction (the unit of work)", () => {
  let t: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    t = await createTestDatabase(4);
    db = t.database.db;
    await db.execute(sql`create table uow_probe (attempt int not null)`);
  });
  afterAll(async () => {
    await t.drop();
  });

  const probe = async () =>
    (await rows<{ attempt: number }>(db, sql`select attempt from uow_probe order by attempt`)).map(
      (r) => r.attempt,
    );

  it("runs the body again after a serialization failure; only the committed attempt's writes stay", async () => {
    await db.execute(sql`truncate uow_probe`);
    let attempts = 0;
    const result = await transaction(db, async (tx) => {
      attempts++;
      await tx.execute(sql`insert into uow_probe values (${attempts})`);
      if (attempts < 3) await raise(tx, attempts === 1 ? "40001" : "40P01");
      return "done";
    });
    expect(result).toBe("done");
    expect(attempts).toBe(3);
    expect(await probe()).toEqual([3]);
  });

  it("gives up after `retries` retries and throws the last failure", async () => {
    let attempts = 0;
    const failing = transaction(db, async (tx) => {
      attempts++;
      await raise(tx, "40001");
    });
    await expect(failing).rejects.toSatisfy((err) => pgErrorCode(err) === "40001");
    expect(attempts).toBe(DEFAULT_TX_RETRIES + 1);

    attempts = 0;
    await expect(
      transaction(
        db,
        async (tx) => {
          attempts++;
          await raise(tx, "40001");
        },
        { retries: 1 },
      ),
    ).rejects.toSatisfy((err) => pgErrorCode(err) === "40001");
    expect(attempts).toBe(2);
  });

  it("does not retry other failures, unless `retryIf` says so", async () => {
    let attempts = 0;
    await expect(
      transaction(db, async (tx) => {
        attempts++;
        await raise(tx, "23505");
      }),
    ).rejects.toSatisfy((err) => pgErrorCode(err) === "23505");
    expect(attempts).toBe(1);

    attempts = 0;
    const taken = () => new DomainError("ADDRESS_TAKEN", "taken");
    const result = await transaction(
      db,
      async () => {
        attempts++;
        if (attempts < 2) throw taken();
        return attempts;
      },
      { retryIf: (err) => err instanceof DomainError && err.code === "ADDRESS_TAKEN" },
    );
    expect(result).toBe(2);
  });

  it("runs after-commit tasks once, after the commit, only those of the attempt that committed", async () => {
    await db.execute(sql`truncate uow_probe`);
    const ran: string[] = [];
    let attempts = 0;
    let seenByTask: number[] | undefined;
    await transaction(db, async (tx, afterCommit) => {
      attempts++;
      const attempt = attempts;
      afterCommit(async () => {
        // Another connection sees the write: the task runs after the commit.
        seenByTask = await probe();
        ran.push(`first of attempt ${attempt}`);
      });
      afterCommit(() => {
        ran.push(`second of attempt ${attempt}`);
      });
      await tx.execute(sql`insert into uow_probe values (${attempt})`);
      if (attempt === 1) await raise(tx, "40001");
      expect(ran).toEqual([]);
    });
    expect(attempts).toBe(2);
    expect(ran.sort()).toEqual(["first of attempt 2", "second of attempt 2"]);
    expect(seenByTask).toEqual([2]);
  });

  it("never runs after-commit tasks of a rolled-back transaction", async () => {
    const ran: string[] = [];
    await expect(
      transaction(db, async (_tx, afterCommit) => {
        afterCommit(() => ran.push("task"));
        throw new DomainError("NOT_FOUND", "nothing here");
      }),
    ).rejects.toThrow("nothing here");
    expect(ran).toEqual([]);
  });

  it("reports a failed after-commit task without failing the committed change", async () => {
    await db.execute(sql`truncate uow_probe`);
    const reported: unknown[] = [];
    const result = await transaction(
      db,
      async (tx, afterCommit) => {
        await tx.execute(sql`insert into uow_probe values (7)`);
        afterCommit(() => {
          throw new Error("queue down");
        });
        afterCommit(async () => Promise.reject(new Error("also down")));
        return "committed";
      },
      { onAfterCommitError: (err) => reported.push((err as Error).message) },
    );
    expect(result).toBe("committed");
    expect(reported.sort()).toEqual(["also down", "queue down"]);
    expect(await probe()).toEqual([7]);
  });
});
