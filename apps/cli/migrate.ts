/**
 * The commands that open the database: `wiresync migrate` (applies pending migrations to
 * `DATABASE_URL`, or to the embedded database under `DATA_DIR`), `backup` and `restore`. A module of
 * its own because it loads the database code, which no other command needs.
 */
import { loadConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/index.js";
import { fail } from "./client.js";

export { backupCommand, restoreCommand } from "./backup-commands.js";

/** Applies every pending migration and prints which database got them; exits 1 naming the problem. */
export async function migrate(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config.database).catch((err: NodeJS.ErrnoException) =>
    fail(
      // The single-file build leaves the embedded database (PGlite) to wiresync's dependencies.
      err.code === "ERR_MODULE_NOT_FOUND"
        ? `the embedded database needs wiresync's dependencies (the npm package or a checkout), or set DATABASE_URL: ${err.message}`
        : `migrate: ${err.message}`,
    ),
  );
  await db.migrate();
  await db.close();
  process.stdout.write(`migrations applied (${config.database.kind})\n`);
}
