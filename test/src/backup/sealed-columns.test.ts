import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { columnName, SEALED_COLUMNS } from "../../../src/backup/index.js";
import { schema } from "../../../src/db/index.js";

describe("the sealed column list", () => {
  it("names every encrypted column of the schema (`*_enc`, and settings.value), and only those", () => {
    const encrypted = (Object.values(schema) as unknown[])
      .filter((t): t is PgTable => t instanceof PgTable)
      .flatMap((t) => {
        const { name, columns } = getTableConfig(t);
        // Schema columns are camelCase in TypeScript, snake_case in SQL (drizzle `casing`).
        const sqlName = (c: string) => c.replace(/[A-Z]/g, (l) => `_${l.toLowerCase()}`);
        return columns
          .map((c) => sqlName(c.name))
          .filter((c) => c.endsWith("_enc"))
          .map((c) => `${name}.${c}`);
      });
    expect(SEALED_COLUMNS.map(columnName).sort()).toEqual([...encrypted, "settings.value"].sort());
  });
});
