import { sql } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import type { SecretBox } from "../crypto/index.js";
import type { Db, Executor } from "../db/index.js";
import { rowsOf, schema } from "../db/index.js";
import { countSealedByKey } from "./sealed-columns.js";

/** What the first line of a backup says it is. */
export const BACKUP_FORMAT = "wiresync-backup";
/** The version of the line format; restore refuses others. */
export const BACKUP_FORMAT_VERSION = 1;
/** Rows read per query while exporting, and inserted per statement while restoring. */
const PAGE_ROWS = 500;

/**
 * The first line of a backup. Every secret in the rows stays sealed: `sealedWith` names the keys
 * (by id, never the key) that a restoring installation needs as `ENCRYPTION_KEY` or previous keys.
 */
export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  /** Migrations applied to the database the backup was taken from. */
  migrations: number;
  /** Key ids the secret envelopes in the backup are sealed with. */
  sealedWith: string[];
  /** The tables, in the order their rows follow (parents before children). */
  tables: string[];
}

/** The last line: row counts per table, so a truncated file is refused. */
export interface BackupTrailer {
  end: true;
  rows: Record<string, number>;
}

export class BackupRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupRefusedError";
  }
}

/**
 * Every table wiresync owns, parents before the tables that reference them (foreign keys of the
 * schema), so rows load in this order without deferring constraints.
 */
export function ownedTables(): string[] {
  const configs = (Object.values(schema) as unknown[])
    .filter((t): t is PgTable => t instanceof PgTable)
    .map((t) => getTableConfig(t));
  const parents = new Map(
    configs.map((c) => [
      c.name,
      c.foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable).name).filter((p) => p !== c.name),
    ]),
  );
  const ordered: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (ordered.includes(name)) return;
    if (path.includes(name)) throw new Error(`foreign keys form a cycle: ${[...path, name].join(" → ")}`);
    for (const p of parents.get(name) ?? []) visit(p, [...path, name]);
    ordered.push(name);
  };
  for (const name of [...parents.keys()].sort()) visit(name, []);
  return ordered;
}

async function migrationCount(exec: Executor): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await exec.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`),
  );
  return Number(row?.n ?? 0);
}

async function sealedKeyIds(exec: Executor): Promise<string[]> {
  return [...new Set((await countSealedByKey(exec)).map((c) => c.keyId))].sort();
}

/**
 * Writes a logical backup of every table wiresync owns as JSON lines: a header, one line per row
 * (`{"table","row"}`, the row as Postgres renders it to JSON, so no value is rounded), and a trailer
 * with the row counts. Reads one snapshot (a read-only repeatable-read transaction), so the backup is
 * consistent while the installation keeps running. Secrets stay sealed. Returns the header and the
 * row counts. `write` may return a promise to apply back-pressure.
 */
export async function writeBackup(
  db: Db,
  write: (line: string) => unknown,
): Promise<{ header: BackupHeader; rows: Record<string, number> }> {
  return db.transaction(
    async (tx) => {
      const tables = ownedTables();
      const header: BackupHeader = {
        format: BACKUP_FORMAT,
        version: BACKUP_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        migrations: await migrationCount(tx),
        sealedWith: await sealedKeyIds(tx),
        tables,
      };
      await write(`${JSON.stringify(header)}\n`);
      const rows: Record<string, number> = {};
      for (const table of tables) {
        const prefix = `{"table":${JSON.stringify(table)},"row":`;
        let after = "(0,0)";
        rows[table] = 0;
        for (;;) {
          // Keyset on the physical row id: stable within the snapshot, and needs no primary key.
          const page = rowsOf<{ c: string; r: string }>(
            await tx.execute(sql`
              select t.ctid::text as c, row_to_json(t)::text as r from ${sql.identifier(table)} t
              where t.ctid > ${after}::tid order by t.ctid limit ${PAGE_ROWS}`),
          );
          for (const { r } of page) await write(`${prefix}${r}}\n`);
          rows[table] += page.length;
          if (page.length < PAGE_ROWS) break;
          after = page.at(-1)!.c;
        }
      }
      const trailer: BackupTrailer = { end: true, rows };
      await write(`${JSON.stringify(trailer)}\n`);
      return { header, rows };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

export interface RestoreOptions {
  /** Replace the data of an installation that already has some (everything in it is deleted). */
  force?: boolean;
}

/**
 * Loads a backup written by `writeBackup` into a migrated database, in one transaction: all of it or
 * nothing. Refuses (`BackupRefusedError`, nothing changed) a file that is not a backup, one of another
 * format version or from a newer schema, one that is truncated, one whose secrets are sealed with a
 * key `box` does not have (naming the key id), and, unless `force`, a database that holds any row.
 * Serial counters are moved past the restored ids. Returns the row counts per table.
 */
export async function restoreBackup(
  db: Db,
  box: SecretBox,
  lines: AsyncIterable<string>,
  options: RestoreOptions = {},
): Promise<Record<string, number>> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const header = parseHeader(first.done ? "" : first.value);
  checkHeader(header, box);
  const tables = ownedTables();

  return db.transaction(async (tx) => {
    const migrations = await migrationCount(tx);
    if (header.migrations > migrations)
      throw new BackupRefusedError(
        `the backup was taken at schema migration ${header.migrations}, this database is at ${migrations}: upgrade wiresync before restoring`,
      );
    const present = await rowCounts(tx, tables);
    const holding = Object.entries(present).filter(([, n]) => n > 0);
    if (holding.length > 0 && !options.force)
      throw new BackupRefusedError(
        `the database is not empty (${holding.map(([t, n]) => `${t}: ${n}`).join(", ")}): restore into a fresh installation, or pass --force to replace everything in it`,
      );
    if (holding.length > 0)
      await tx.execute(
        sql`truncate table ${sql.join(
          tables.map((t) => sql.identifier(t)),
          sql`, `,
        )} restart identity cascade`,
      );

    const columns = await tableColumns(tx);
    const loaded: Record<string, number> = Object.fromEntries(header.tables.map((t) => [t, 0]));
    let batch: { table: string; lines: string[] } | undefined;
    const flush = async () => {
      if (!batch || batch.lines.length === 0) return;
      await insertRows(tx, batch.table, columns.get(batch.table) ?? [], batch.lines);
      loaded[batch.table]! += batch.lines.length;
      batch.lines = [];
    };
    for await (const { table, line } of backupRows(header, iterator)) {
      if (batch?.table !== table) {
        await flush();
        batch = { table, lines: [] };
      }
      batch.lines.push(line);
      if (batch.lines.length >= PAGE_ROWS) await flush();
    }
    await flush();
    await resetSerials(tx);
    return loaded;
  });
}

/** Refuses a header whose secrets `box` cannot open, or that lists tables this version does not know. */
function checkHeader(header: BackupHeader, box: SecretBox) {
  const missing = header.sealedWith.filter((k) => !box.keyIds.includes(k));
  if (missing.length > 0)
    throw new BackupRefusedError(
      `the backup's secrets are sealed with key ${missing.join(", ")}, which this installation does not ` +
        "have: set ENCRYPTION_KEY (or ENCRYPTION_KEYS_PREVIOUS) to the key of the installation the " +
        "backup was taken from",
    );
  const tables = ownedTables();
  const unknown = header.tables.filter((t) => !tables.includes(t));
  if (unknown.length > 0)
    throw new BackupRefusedError(
      `the backup holds tables this version of wiresync does not know (${unknown.join(", ")}): restore it with the version that wrote it or a newer one`,
    );
}

/**
 * Reads a whole backup without touching any database: the header (format, version, tables, and keys
 * `box` must have), every line, and the row counts against the end marker. Throws the
 * `BackupRefusedError` `restoreBackup` would for the same file; the checks that need the target
 * database (its schema version, its being empty) are left to `restoreBackup`. Returns the header
 * and the row counts.
 */
export async function checkBackup(
  box: SecretBox,
  lines: AsyncIterable<string>,
): Promise<{ header: BackupHeader; rows: Record<string, number> }> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new BackupRefusedError("not a wiresync backup (the file is empty)");
  const header = parseHeader(first.value.trim());
  checkHeader(header, box);
  const rows: Record<string, number> = Object.fromEntries(header.tables.map((t) => [t, 0]));
  for await (const { table } of backupRows(header, iterator)) rows[table]! += 1;
  return { header, rows };
}

/**
 * The rows of a backup after its header line, as `{ table, line }`, each checked: no line after the
 * end marker, and a table the header lists. Once the lines run out, throws when there was no end
 * marker (truncated) or when its row counts differ from the rows seen (damaged).
 */
async function* backupRows(
  header: BackupHeader,
  rest: AsyncIterator<string>,
): AsyncGenerator<{ table: string; line: string }> {
  const seen: Record<string, number> = Object.fromEntries(header.tables.map((t) => [t, 0]));
  let trailer: BackupTrailer | undefined;
  for (let next = await rest.next(); !next.done; next = await rest.next()) {
    const line = next.value.trim();
    if (!line) continue;
    if (trailer) throw new BackupRefusedError("the backup has lines after its end marker");
    const parsed = parseLine(line);
    if ("end" in parsed) {
      trailer = parsed;
      continue;
    }
    if (!header.tables.includes(parsed.table))
      throw new BackupRefusedError(
        `the backup has a row of table ${parsed.table}, which its header does not list`,
      );
    seen[parsed.table]! += 1;
    yield { table: parsed.table, line };
  }
  if (!trailer) throw new BackupRefusedError("the backup is truncated (no end marker): nothing was restored");
  checkCounts(header, trailer, seen);
}

function checkCounts(header: BackupHeader, trailer: BackupTrailer, loaded: Record<string, number>) {
  for (const t of header.tables)
    if ((trailer.rows[t] ?? 0) !== loaded[t])
      throw new BackupRefusedError(
        `the backup is damaged: table ${t} should have ${trailer.rows[t] ?? 0} rows, it has ${loaded[t]}`,
      );
}

function parseHeader(line: string): BackupHeader {
  let header: Partial<BackupHeader>;
  try {
    header = JSON.parse(line) as Partial<BackupHeader>;
  } catch {
    throw new BackupRefusedError("not a wiresync backup (the first line is not JSON)");
  }
  if (header?.format !== BACKUP_FORMAT)
    throw new BackupRefusedError("not a wiresync backup (no header line)");
  if (header.version !== BACKUP_FORMAT_VERSION)
    throw new BackupRefusedError(
      `backup format version ${String(header.version)} is not supported (this wiresync reads version ${BACKUP_FORMAT_VERSION})`,
    );
  if (
    !Array.isArray(header.tables) ||
    !Array.isArray(header.sealedWith) ||
    typeof header.migrations !== "number"
  )
    throw new BackupRefusedError("the backup's header is damaged");
  return header as BackupHeader;
}

/** A row line's table (the row itself stays text, for Postgres to read) or the trailer. */
function parseLine(line: string): { table: string } | BackupTrailer {
  let parsed: { table?: unknown; row?: unknown; end?: unknown; rows?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    throw new BackupRefusedError("the backup is damaged (a line is not JSON)");
  }
  if (parsed.end === true && parsed.rows && typeof parsed.rows === "object") return parsed as BackupTrailer;
  if (typeof parsed.table !== "string" || !parsed.row || typeof parsed.row !== "object")
    throw new BackupRefusedError("the backup is damaged (a line is neither a row nor the end marker)");
  return { table: parsed.table };
}

async function rowCounts(exec: Executor, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [row] = rowsOf<{ n: number }>(
      await exec.execute(sql`select count(*)::int as n from ${sql.identifier(t)}`),
    );
    out[t] = Number(row?.n ?? 0);
  }
  return out;
}

/** The columns of each table in the current schema. */
async function tableColumns(exec: Executor): Promise<Map<string, string[]>> {
  const rows = rowsOf<{ t: string; c: string }>(
    await exec.execute(sql`
      select table_name as t, column_name as c from information_schema.columns
      where table_schema = current_schema() order by table_name, ordinal_position`),
  );
  const out = new Map<string, string[]>();
  for (const { t, c } of rows) out.set(t, [...(out.get(t) ?? []), c]);
  return out;
}

/**
 * Inserts row lines of one table. Postgres reads each row from its JSON (`json_populate_record`),
 * so every type (timestamps, inet, arrays, jsonb, bigints) comes back exactly as it was written.
 * Columns missing from the backup (added by a later migration) take their defaults.
 */
async function insertRows(exec: Executor, table: string, columns: string[], lines: string[]) {
  const given = Object.keys((JSON.parse(lines[0]!) as { row: Record<string, unknown> }).row);
  const unknown = given.filter((c) => !columns.includes(c));
  if (unknown.length > 0)
    throw new BackupRefusedError(
      `the backup's table ${table} has columns this database does not (${unknown.join(", ")}): upgrade wiresync before restoring`,
    );
  const cols = sql.join(
    given.map((c) => sql.identifier(c)),
    sql`, `,
  );
  const fromRecord = sql.join(
    given.map((c) => sql`r.${sql.identifier(c)}`),
    sql`, `,
  );
  await exec.execute(sql`
    insert into ${sql.identifier(table)} (${cols})
    select ${fromRecord} from json_array_elements(${`[${lines.join(",")}]`}::json) as l,
      json_populate_record(null::${sql.identifier(table)}, l->'row') as r`);
}

/**
 * Moves every sequence a column owns (serial and identity columns, and sequences attached with
 * `ALTER SEQUENCE … OWNED BY`, such as the event stream's `events_seq`) past the highest value
 * restored into that column, so new rows never reuse a restored number.
 */
async function resetSerials(exec: Executor) {
  const serials = rowsOf<{ t: string; c: string; s: string }>(
    await exec.execute(sql`
      select t, c, s from (
        select table_name as t, column_name as c,
          pg_get_serial_sequence(format('%I.%I', table_schema, table_name), column_name) as s
        from information_schema.columns where table_schema = current_schema()
      ) owned where s is not null`),
  );
  for (const { t, c, s } of serials) {
    await exec.execute(sql`
      select setval(${s}, coalesce(max(${sql.identifier(c)}), 1), max(${sql.identifier(c)}) is not null)
      from ${sql.identifier(t)}`);
  }
}
