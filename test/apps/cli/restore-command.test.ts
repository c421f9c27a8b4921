/**
 * `wiresync restore` only reads: it takes the encryption key from ENCRYPTION_KEY or an existing
 * DATA_DIR/secrets.json and never creates that file, and it reads the whole backup before it opens the
 * database, so a file it cannot restore (missing, truncated, sealed with another key) leaves the
 * database as it was: not even migrated.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBackup } from "../../../src/backup/index.js";
import { adminSql, databaseUrl } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { bundleCli } from "../../support/worker-process.js";

const run = promisify(execFile);

/** The CLI's bundle (`bundleCli`), made once for this file. */
let cliEntry = "";

/** Runs the CLI; resolves to its exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[], env: Record<string, string | undefined>) {
  return run(process.execPath, [cliEntry, ...args], {
    env: childEnv({
      LOG_LEVEL: "silent",
      NODE_ENV: "test",
      API_KEY: undefined,
      JWT_SECRET: undefined,
      ENCRYPTION_KEY: undefined,
      ENCRYPTION_KEYS_PREVIOUS: undefined,
      ...env,
    }),
    timeout: 90_000,
  }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

/** Tables of the database, wiresync's migration table included: none in a database never touched. */
async function tablesIn(url: string): Promise<number> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await client<{ n: number }[]>`
      select count(*)::int as n from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema')`;
    return row!.n;
  } finally {
    await client.end();
  }
}

// Each CLI run is a process of its own (a few seconds of CPU on a busy machine).
describe("wiresync restore reads, and checks the file first", { timeout: 240_000 }, () => {
  let source: TestPlatform;
  let dir: string;
  let file: string;
  let key: string;
  const databases: string[] = [];

  /** An empty database (no migrations), dropped after the file. */
  async function emptyDatabase(): Promise<string> {
    const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
    await adminSql(`create database "${name}"`);
    databases.push(name);
    return databaseUrl(name);
  }

  beforeAll(async () => {
    cliEntry = bundleCli();
    source = await createTestPlatform();
    key = source.encryptionKey.toString("hex");
    const net = await createNetwork(source, { name: "restore-cli", cidr4: "10.172.0.0/24" });
    await createNode(source, net.id, { name: "sealed" });
    dir = await mkdtemp(path.join(tmpdir(), "wiresync-restore-"));
    file = path.join(dir, "backup.jsonl");
    const lines: string[] = [];
    const { header } = await writeBackup(source.platform.database.db, (l) => lines.push(l));
    expect(header.sealedWith.length).toBe(1);
    await writeFile(file, lines.join(""));
  }, 120_000);
  afterAll(async () => {
    for (const name of databases) await adminSql(`drop database if exists "${name}" with (force)`);
    await source?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (cliEntry) await rm(cliEntry, { force: true });
  });

  it("restores with ENCRYPTION_KEY and creates no secrets.json; a second restore is refused once", async () => {
    const url = await emptyDatabase();
    const dataDir = path.join(dir, "with-env-key");
    const restored = await cli(["restore", file], {
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: key,
    });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^restored \d+ rows in \d+ tables/);
    expect(existsSync(path.join(dataDir, "secrets.json"))).toBe(false);

    // Refused by the database (not empty now): one message, the database closed once.
    const again = await cli(["restore", file], { DATABASE_URL: url, DATA_DIR: dataDir, ENCRYPTION_KEY: key });
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^wiresync: restore refused: the database is not empty \(/),
    ]);
    expect(existsSync(path.join(dataDir, "secrets.json"))).toBe(false);
  });

  it("reads the key from an existing secrets.json and leaves the file as it was", async () => {
    const url = await emptyDatabase();
    const dataDir = path.join(dir, "with-file");
    await mkdir(dataDir);
    const secrets = `${JSON.stringify({ apiKey: "wsk_x", jwtSecret: "y".repeat(48), encryptionKey: key })}\n`;
    await writeFile(path.join(dataDir, "secrets.json"), secrets, { mode: 0o600 });
    const restored = await cli(["restore", file], { DATABASE_URL: url, DATA_DIR: dataDir });
    expect(restored.code, restored.stderr).toBe(0);
    expect(await readFile(path.join(dataDir, "secrets.json"), "utf8")).toBe(secrets);
  });

  it("without any key: exits 1 saying so, creates nothing and leaves the database untouched", async () => {
    const url = await emptyDatabase();
    const dataDir = path.join(dir, "no-key");
    const refused = await cli(["restore", file], { DATABASE_URL: url, DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("no encryption key: ENCRYPTION_KEY is unset and");
    expect(existsSync(dataDir)).toBe(false);
    expect(await tablesIn(url)).toBe(0);
  });

  it.each([
    ["a missing file", async () => path.join(dir, "nope.jsonl"), {}, "cannot read"],
    [
      "a truncated file",
      async () => {
        const lines = (await readFile(file, "utf8")).trim().split("\n");
        const cut = path.join(dir, "truncated.jsonl");
        await writeFile(cut, `${lines.slice(0, -1).join("\n")}\n`);
        return cut;
      },
      {},
      "restore refused: the backup is truncated",
    ],
    [
      "a file sealed with another key",
      async () => file,
      { ENCRYPTION_KEY: randomBytes(32).toString("hex") },
      "restore refused: the backup's secrets are sealed with key",
    ],
  ])("refuses %s before touching the database", async (_name, make, env, message) => {
    const url = await emptyDatabase();
    const dataDir = path.join(dir, `refused-${randomBytes(3).toString("hex")}`);
    const refused = await cli(["restore", await make()], {
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: key,
      ...env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).not.toContain(key);
    expect(await tablesIn(url)).toBe(0);
    expect(existsSync(path.join(dataDir, "secrets.json"))).toBe(false);
  });
});
