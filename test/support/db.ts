/** A fresh database per test file, cloned from the migrated template. */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { Database } from "../../src/db/index.js";
import { openDatabase } from "../../src/db/index.js";
import { TEST_DATABASE_URL, templateDatabaseName } from "./env.js";

export interface TestDatabase {
  name: string;
  url: string;
  database: Database;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement on the maintenance database. */
export async function adminSql(statement: string): Promise<void> {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(statement);
  } finally {
    await admin.end();
  }
}

/** Creates `wiresync_t_<unix seconds>_<random>` from the template and opens it. */
export async function createTestDatabase(poolSize = 10): Promise<TestDatabase> {
  const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  const template = templateDatabaseName();
  // CREATE DATABASE … TEMPLATE fails while another session is connected to the template; retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await adminSql(`create database "${name}" template "${template}"`);
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const url = databaseUrl(name);
  const database = await openDatabase({ kind: "postgres", url, poolSize });
  return {
    name,
    url,
    database,
    async drop() {
      await database.close();
      await adminSql(`drop database if exists "${name}" with (force)`);
    },
  };
}
