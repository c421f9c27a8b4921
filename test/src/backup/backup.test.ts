/**
 * What restore refuses, in-process: a truncated file, a damaged one, another format version, a newer
 * schema. Each refusal leaves the target database as it was (empty here); a good file then loads.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupRefusedError, restoreBackup, writeBackup } from "../../../src/backup/index.js";
import type { Db } from "../../../src/db/index.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

async function* linesOf(lines: string[]) {
  yield* lines;
}

const count = async (db: Db, table: string) => {
  const result = await db.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return Number((result as unknown as { n: number }[])[0]!.n);
};

describe("restore refuses a file it cannot load whole", { timeout: 60_000 }, () => {
  let t: TestPlatform;
  let target: TestDatabase;
  let lines: string[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    target = await createTestDatabase(2);
    const net = await createNetwork(t, { name: "refusals", cidr4: "10.171.0.0/24" });
    await createNode(t, net.id, { name: "only" });
    const written: string[] = [];
    await writeBackup(t.platform.database.db, (l) => written.push(l));
    lines = written.join("").trim().split("\n");
  });
  afterAll(async () => {
    await target?.drop();
    await t?.close();
  });

  const header = () => JSON.parse(lines[0]!) as Record<string, unknown>;
  const withHeader = (over: Record<string, unknown>) => [
    JSON.stringify({ ...header(), ...over }),
    ...lines.slice(1),
  ];
  const nodeLine = () => lines.findIndex((l) => l.startsWith('{"table":"nodes"'));

  it.each([
    ["a truncated file (no end line)", () => lines.slice(0, -1), "the backup is truncated"],
    [
      "a file missing a row",
      () => lines.filter((_, i) => i !== nodeLine()),
      "table nodes should have 1 rows, it has 0",
    ],
    ["another format version", () => withHeader({ version: 2 }), "backup format version 2 is not supported"],
    ["a backup from a newer schema", () => withHeader({ migrations: 10_000 }), "upgrade wiresync"],
    ["a file that is not a backup", () => ['{"hello":"world"}'], "not a wiresync backup"],
    [
      "a line that is not JSON",
      () => [...lines.slice(0, 2), "{oops", ...lines.slice(2)],
      "a line is not JSON",
    ],
  ])("refuses %s and changes nothing", async (_name, make, message) => {
    const err = await restoreBackup(target.database.db, t.platform.secrets, linesOf(make())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackupRefusedError);
    expect((err as Error).message).toContain(message);
    for (const table of ["networks", "nodes", "users", "audit_log"])
      expect(await count(target.database.db, table)).toBe(0);
  });

  it("loads the whole file, and then refuses the same file again unless forced", async () => {
    const rows = await restoreBackup(target.database.db, t.platform.secrets, linesOf(lines));
    expect(rows).toMatchObject({ networks: 1, nodes: 1 });
    expect(await count(target.database.db, "nodes")).toBe(1);
    await expect(restoreBackup(target.database.db, t.platform.secrets, linesOf(lines))).rejects.toThrow(
      /the database is not empty \(.*nodes: 1/,
    );
    expect(
      await restoreBackup(target.database.db, t.platform.secrets, linesOf(lines), { force: true }),
    ).toEqual(rows);
    expect(await count(target.database.db, "nodes")).toBe(1);
  });
});
