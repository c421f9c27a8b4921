/**
 * Migrates a template database once per run (named by a hash of `drizzle/`, so it is rebuilt only
 * when migrations change); each test file clones it with `CREATE DATABASE … TEMPLATE`.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import postgres from "postgres";
import { openDatabase } from "../../src/db/index.js";
import { setTemplateDatabaseName, TEST_DATABASE_URL } from "./env.js";

function migrationsHash(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync("drizzle").sort()) {
    if (file.endsWith(".sql")) hash.update(file).update(readFileSync(`drizzle/${file}`));
  }
  return hash.digest("hex").slice(0, 12);
}

function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function setup() {
  const name = `wiresync_tpl_${migrationsHash()}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    // Other templates are left alone: another checkout's test run may be using one right now.
    const existing = await admin`select 1 from pg_database where datname = ${name}`;
    if (existing.length === 0) {
      await admin.unsafe(`create database "${name}"`);
      const db = await openDatabase({ kind: "postgres", url: databaseUrl(name), poolSize: 1 });
      try {
        await db.migrate();
      } catch (err) {
        await db.close();
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        throw err;
      }
      await db.close();
    }
    // Leftovers of killed runs: test databases are named wiresync_t_<unix seconds>_<random>.
    const stale = await admin`select datname from pg_database where datname like 'wiresync_t_%'`;
    const cutoff = Date.now() / 1000 - 3 * 60 * 60;
    for (const row of stale) {
      const created = Number(String(row.datname).split("_")[2]);
      if (created < cutoff)
        await admin.unsafe(`drop database if exists "${row.datname}" with (force)`).catch(() => {});
    }
  } finally {
    await admin.end();
  }
  setTemplateDatabaseName(name);
}
