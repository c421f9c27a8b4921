/**
 * `wiresync backup` and `restore`: straight against the database (as `migrate`), so they work with
 * the API down. Loaded only by those commands, through `migrate.ts` (`wiresync-migrate.mjs`).
 */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, rename, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { BackupRefusedError, checkBackup, restoreBackup, writeBackup } from "../../src/backup/index.js";
import { loadConfig } from "../../src/config.js";
import { createSecretBox } from "../../src/crypto/index.js";
import { openDatabase } from "../../src/db/index.js";
import { readEncryptionKeys } from "../../src/secrets.js";
import { fail } from "./client.js";

/** Writes a backup of the configured database to `file` (mode 0600, written whole or not at all). */
export async function backupCommand(file: string | undefined): Promise<void> {
  if (!file) fail("backup needs a file to write, e.g. wiresync backup wiresync-$(date +%F).jsonl");
  const config = loadConfig();
  const db = await openDatabase(config.database);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  try {
    const { header, rows } = await writeBackup(db.db, async (line) => {
      if (!out.write(line)) await once(out, "drain");
    });
    out.end();
    await once(out, "finish");
    await chmod(partial, 0o600);
    await rename(partial, file);
    const total = Object.values(rows).reduce((a, b) => a + b, 0);
    const keys = header.sealedWith.length > 0 ? header.sealedWith.join(", ") : "none (no secrets yet)";
    process.stdout.write(
      `backup written to ${file}: ${total} rows in ${header.tables.length} tables\n` +
        `secrets in it stay sealed, with key ${keys}: keep ENCRYPTION_KEY (and ENCRYPTION_KEYS_PREVIOUS) apart from the backup, a restore needs it\n`,
    );
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  } finally {
    await db.close();
  }
}

/** A stream of `file`, or exit 1 naming it when it cannot be opened. */
async function openFile(file: string) {
  const input = createReadStream(file, { encoding: "utf8" });
  await once(input, "open").catch((err: Error) => fail(`cannot read ${file}: ${err.message}`));
  return input;
}

/** The lines of `input`. Foot-gun: call it only when about to read them; lines emitted before are lost. */
function linesOf(input: NodeJS.ReadableStream) {
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

/**
 * Restores a backup into the configured database (migrated first); refuses a non-empty one unless
 * `force`. Reads the encryption key without creating anything (no `secrets.json`), and reads the whole
 * file once before opening the database: a file that cannot be restored leaves the database untouched.
 */
export async function restoreCommand(file: string | undefined, force: boolean): Promise<void> {
  if (!file) fail("restore needs the backup file to read");
  const config = loadConfig();
  const keys = await readEncryptionKeys(config).catch((err: Error) => fail(`restore: ${err.message}`));
  const box = createSecretBox(keys.encryptionKey, keys.previousEncryptionKeys);

  const check = await openFile(file);
  try {
    await checkBackup(box, linesOf(check));
  } catch (err) {
    if (err instanceof BackupRefusedError) fail(`restore refused: ${err.message}`);
    throw err;
  } finally {
    check.destroy();
  }

  const input = await openFile(file);
  const db = await openDatabase(config.database);
  let refused: BackupRefusedError | undefined;
  let rows: Record<string, number> = {};
  try {
    await db.migrate();
    rows = await restoreBackup(db.db, box, linesOf(input), { force });
  } catch (err) {
    if (!(err instanceof BackupRefusedError)) throw err;
    refused = err;
  } finally {
    input.destroy();
    await db.close();
  }
  if (refused) fail(`restore refused: ${refused.message}`);
  const total = Object.values(rows).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `restored ${total} rows in ${Object.keys(rows).length} tables from ${file}\n` +
      "hub interfaces come back when a peer-sync worker that owns them starts (or at its next reconcile)\n",
  );
}
