/**
 * What a refused request must leave alone: the rows of every table of a test database. Two ways to
 * look: `snapshotTables` (every row, for a few targeted checks) and `WriteCounter` (a count of rows
 * written per table, kept by triggers, for checking thousands of requests cheaply).
 */
import postgres from "postgres";

type Sql = ReturnType<typeof postgres>;

async function publicTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select tablename as name from pg_tables where schemaname = 'public' order by tablename`;
  return rows.map((r) => r.name);
}

/** Every row of every table in the public schema, as JSON text per table (rows in a fixed order). */
export async function snapshotTables(url: string): Promise<Record<string, string>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const out: Record<string, string> = {};
    for (const name of await publicTables(sql)) {
      const [row] = await sql.unsafe<{ rows: string }[]>(
        `select coalesce(json_agg(t order by t::text), '[]')::text as rows from "${name}" t`,
      );
      out[name] = row!.rows;
    }
    return out;
  } finally {
    await sql.end();
  }
}

/**
 * Counts the rows each table gets inserted, updated or deleted (and truncations), through triggers
 * installed in the test's own database. The count is written in the writing transaction, so what a
 * transaction rolls back is not counted: a refused request must leave the counts where they were.
 */
export interface WriteCounter {
  /** `table:count` of every table written so far, sorted: equal texts mean no write in between. */
  read(): Promise<string>;
  close(): Promise<void>;
}

export async function installWriteCounter(url: string): Promise<WriteCounter> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql.unsafe(`
    create table if not exists fuzz_writes (tbl text primary key, n bigint not null);
    create or replace function fuzz_count_write() returns trigger language plpgsql as $$
    begin
      insert into fuzz_writes (tbl, n) values (tg_table_name, 1)
        on conflict (tbl) do update set n = fuzz_writes.n + 1;
      return null;
    end $$;`);
  for (const name of await publicTables(sql)) {
    if (name === "fuzz_writes") continue;
    await sql.unsafe(`
      create trigger fuzz_count_rows after insert or update or delete on "${name}"
        for each row execute function fuzz_count_write();
      create trigger fuzz_count_truncate after truncate on "${name}"
        for each statement execute function fuzz_count_write();`);
  }
  return {
    async read() {
      const rows = await sql<{ tbl: string; n: string }[]>`select tbl, n::text from fuzz_writes order by tbl`;
      return rows.map((r) => `${r.tbl}:${r.n}`).join(" ");
    },
    async close() {
      await sql.end();
    },
  };
}
