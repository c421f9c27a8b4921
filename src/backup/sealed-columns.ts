import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { rowsOf } from "../db/index.js";

/**
 * A column that holds secret envelopes (src/crypto): where it is, how its rows are told apart, and the
 * associated data each envelope is bound to (the same string the owning service seals with).
 */
export interface SealedColumn {
  /** SQL table name. */
  readonly table: string;
  /** SQL column holding envelopes (null where a row has no secret). */
  readonly column: string;
  /** SQL primary key column and its type. */
  readonly key: string;
  readonly keyType: "uuid" | "text";
  /** Only rows matching this hold an envelope (settings: `encrypted`); every non-null value otherwise. */
  readonly where?: SQL;
  /** The associated data an envelope of row `key` was sealed with. */
  aad(key: string): string;
}

/**
 * Every sealed column of the schema. IMPORTANT: a new sealed column must be added here, or re-seal
 * leaves it under an old key and the start-up key check does not see it (test/src/backup guards the
 * `*_enc` columns of the schema against this list).
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: "networks",
    column: "hub_private_key_enc",
    key: "id",
    keyType: "uuid",
    aad: (id) => `network:${id}`,
  },
  {
    table: "networks",
    column: "preshared_key_secret_enc",
    key: "id",
    keyType: "uuid",
    aad: (id) => `network:${id}:psk`,
  },
  // The next hub key of a rotation under way: sealed like the hub key (it moves there unchanged).
  {
    table: "networks",
    column: "hub_next_private_key_enc",
    key: "id",
    keyType: "uuid",
    aad: (id) => `network:${id}`,
  },
  { table: "nodes", column: "private_key_enc", key: "id", keyType: "uuid", aad: (id) => `node:${id}` },
  { table: "nodes", column: "preshared_key_enc", key: "id", keyType: "uuid", aad: (id) => `node:${id}:psk` },
  { table: "webhooks", column: "url_enc", key: "id", keyType: "uuid", aad: (id) => `webhook:${id}:url` },
  {
    table: "webhooks",
    column: "secret_enc",
    key: "id",
    keyType: "uuid",
    aad: (id) => `webhook:${id}:secret`,
  },
  {
    table: "settings",
    column: "value",
    key: "key",
    keyType: "text",
    where: sql`"encrypted"`,
    aad: (key) => `setting:${key}`,
  },
];

/** `table.column`, the name progress and errors use for a sealed column. */
export const columnName = (c: SealedColumn) => `${c.table}.${c.column}`;

/** The rows of `c` that hold an envelope. */
export function holdsEnvelope(c: SealedColumn): SQL {
  const notNull = sql`${sql.identifier(c.column)} is not null`;
  return c.where ? sql`${notNull} and ${c.where}` : notNull;
}

/** The key id of an envelope, in SQL (`v1.<keyId>.…`). */
export function keyIdSql(c: SealedColumn): SQL {
  return sql`split_part(${sql.identifier(c.column)}, '.', 2)`;
}

/** How many envelopes each key id sealed, per sealed column (columns and keys without any left out). */
export async function countSealedByKey(
  exec: Executor,
): Promise<{ column: SealedColumn; keyId: string; n: number }[]> {
  const out: { column: SealedColumn; keyId: string; n: number }[] = [];
  for (const column of SEALED_COLUMNS) {
    const rows = rowsOf<{ key_id: string; n: number }>(
      await exec.execute(sql`
        select ${keyIdSql(column)} as key_id, count(*)::int as n from ${sql.identifier(column.table)}
        where ${holdsEnvelope(column)} group by 1`),
    );
    for (const r of rows) out.push({ column, keyId: r.key_id, n: Number(r.n) });
  }
  return out;
}
