/**
 * After a restore, every sequence a column owns continues past the restored rows: the event stream's
 * `events_seq` above all, or new events would reuse positions a client already holds as its
 * `Last-Event-ID` and a resuming stream would skip them.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restoreBackup, writeBackup } from "../../../src/backup/index.js";
import type { Executor } from "../../../src/db/index.js";
import { insertEvent, sequencePending, streamHead } from "../../../src/events/index.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

async function* linesOf(lines: string[]) {
  yield* lines;
}

const seqOf = async (exec: Executor, id: string) => {
  const result = await exec.execute(sql`select seq from events where id = ${id}`);
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { seq: string }[];
  return Number(rows[0]!.seq);
};

describe("restore moves owned sequences past the restored rows", { timeout: 60_000 }, () => {
  let t: TestPlatform;
  let target: TestDatabase;

  beforeAll(async () => {
    t = await createTestPlatform();
    target = await createTestDatabase(2);
  });
  afterAll(async () => {
    await target?.drop();
    await t?.close();
  });

  it("numbers the first event after a restore above the restored stream head", async () => {
    const source = t.platform.database.db;
    for (let i = 0; i < 5; i++) await insertEvent(source, { type: "test.restored", data: { i } });
    await sequencePending(source, 100);
    const restoredHead = await streamHead(source);
    expect(restoredHead).toBeGreaterThanOrEqual(5);

    const written: string[] = [];
    await writeBackup(source, (l) => written.push(l));
    const rows = await restoreBackup(
      target.database.db,
      t.platform.secrets,
      linesOf(written.join("").trim().split("\n")),
    );
    expect(rows.events).toBeGreaterThanOrEqual(5);
    expect(await streamHead(target.database.db)).toBe(restoredHead);

    const fresh = await insertEvent(target.database.db, { type: "test.after-restore", data: {} });
    expect(await sequencePending(target.database.db, 100)).toBe(1);
    expect(await seqOf(target.database.db, fresh.id)).toBe(restoredHead + 1);
  });
});
