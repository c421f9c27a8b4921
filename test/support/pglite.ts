/** The embedded database (`npm start` runs on PGlite) in a directory of its own, for statement tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Database } from "../../src/db/index.js";
import { networks, openDatabase } from "../../src/db/index.js";

export interface TestPglite {
  database: Database;
  /** Inserts a network with placeholder hub keys; `values` names and addresses it. */
  insertNetwork(
    values: Pick<typeof networks.$inferInsert, "cidr4" | "hubIp4"> & Partial<typeof networks.$inferInsert>,
  ): Promise<string>;
  close(): Promise<void>;
}

/** Opens and migrates a PGlite database in a new temporary directory, removed by `close`. */
export async function openTestPglite(name: string): Promise<TestPglite> {
  const dir = await mkdtemp(path.join(tmpdir(), `wiresync-${name}-`));
  const database = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
  await database.migrate();
  return {
    database,
    async insertNetwork(values) {
      const [row] = await database.db
        .insert(networks)
        .values({ name: "embedded", hubPublicKey: `${"k".repeat(43)}=`, hubPrivateKeyEnc: "x", ...values })
        .returning({ id: networks.id });
      return row!.id;
    },
    async close() {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
