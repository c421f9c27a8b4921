import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { SecretBox } from "../crypto/index.js";
import { envelopeKeyId } from "../crypto/index.js";
import type { Db, Executor } from "../db/index.js";
import { rowsOf, transaction } from "../db/index.js";
import { emitEvent } from "../events/index.js";
import type { JobQueue, JobState } from "../queue/index.js";
import { JOBS } from "../queue/index.js";
import type { SealedColumn } from "./sealed-columns.js";
import { columnName, countSealedByKey, holdsEnvelope, keyIdSql, SEALED_COLUMNS } from "./sealed-columns.js";

/** Envelopes re-sealed per transaction unless the caller says otherwise. */
export const DEFAULT_RESEAL_BATCH = 100;

/** The envelopes of one table: how many there are, and how many are still under an older key. */
export interface TableCounts {
  sealed: number;
  remaining: number;
}

/** Where the secrets at rest stand against the current `ENCRYPTION_KEY`. */
export interface ResealStatus {
  /** Id of the current key, which re-seal moves every envelope to. */
  keyId: string;
  /** Envelopes under any other key, over every table. 0: previous keys may be removed. */
  remaining: number;
  tables: Record<string, TableCounts>;
  /** Envelope count per key id, over every table (key ids are not secret). */
  keys: Record<string, number>;
  /** Key ids some envelope names that this installation does not have. */
  missingKeys: string[];
}

/** What a re-seal run did in one table. */
export interface TableProgress {
  /** Envelopes moved to the current key. */
  resealed: number;
  /** Envelopes another writer changed between read and write: theirs was kept. */
  skipped: number;
  /** Envelopes that could not be opened (unknown key or failed authentication); left as they are. */
  failed: number;
}

export interface ResealResult {
  keyId: string;
  tables: Record<string, TableProgress & TableCounts>;
  /** Envelopes still under an older key after the run (those that failed, and any written meanwhile). */
  remaining: number;
}

/** A batch read and re-sealed in memory, ready to be written with a compare-and-set per envelope. */
export interface ResealPlan {
  column: SealedColumn;
  rewrites: { key: string; from: string; to: string }[];
  failures: { key: string; reason: string }[];
  /** The last row key read: the next batch starts after it. Undefined when the batch was empty. */
  lastKey: string | undefined;
}

export interface ResealRunOptions {
  batchSize?: number;
  /** Stops the run between batches (what was written stays written; a new run continues). */
  signal?: AbortSignal;
  /** Called after each committed batch with the run's counts so far. */
  onBatch?: (tables: Record<string, TableProgress>) => void;
}

export interface ResealService {
  /** Counts envelopes per table and key. Reads ids only, never opens a secret. */
  status(): Promise<ResealStatus>;
  /**
   * Throws when an envelope names a key this installation does not have, naming each such key id and
   * where it is used (never a secret). Entry points call it at start.
   */
  checkKeys(): Promise<void>;
  /**
   * Re-seals every envelope under an older key with the current one, in batches, each batch one
   * transaction in which every envelope is written only if it still holds what was read. Emits a
   * `reseal.progress` event per batch (in its transaction) and `reseal.completed` at the end. Safe to
   * run again or concurrently: envelopes already under the current key are not read.
   */
  run(options?: ResealRunOptions): Promise<ResealResult>;
  /** Queues a re-seal job (one waiting at a time); returns its job id. */
  request(): Promise<string>;
  /** The state of a re-seal job, or undefined when no such job exists (any more). */
  jobState(jobId: string): Promise<JobState | undefined>;
}

const tableOf = (c: SealedColumn) => sql.identifier(c.table);
const colOf = (c: SealedColumn) => sql.identifier(c.column);
const keyOf = (c: SealedColumn) => sql.identifier(c.key);
const castKey = (c: SealedColumn, value: string): SQL => sql`cast(${value} as ${sql.raw(c.keyType)})`;

/**
 * Reads up to `size` envelopes of `column` under a key other than `box`'s current one (rows after
 * `after` in key order) and re-seals them in memory. Envelopes that do not open become failures,
 * with a reason that names the key id at most.
 */
export async function planResealBatch(
  exec: Executor,
  box: SecretBox,
  column: SealedColumn,
  after: string | undefined,
  size: number,
): Promise<ResealPlan> {
  const rows = rowsOf<{ k: string; v: string }>(
    await exec.execute(sql`
      select ${keyOf(column)}::text as k, ${colOf(column)} as v from ${tableOf(column)}
      where ${holdsEnvelope(column)} and ${keyIdSql(column)} <> ${box.keyId}
        ${after === undefined ? sql`` : sql`and ${keyOf(column)} > ${castKey(column, after)}`}
      order by ${keyOf(column)} limit ${size}`),
  );
  const plan: ResealPlan = { column, rewrites: [], failures: [], lastKey: rows.at(-1)?.k };
  for (const { k, v } of rows) {
    const aad = column.aad(k);
    try {
      plan.rewrites.push({ key: k, from: v, to: box.seal(box.open(v, aad), aad) });
    } catch {
      const keyId = envelopeKeyId(v);
      const reason =
        keyId === undefined
          ? "not a secret envelope"
          : box.keyIds.includes(keyId)
            ? "failed authentication (tampered, or bound to another row)"
            : `sealed with key ${keyId}, which is not configured`;
      plan.failures.push({ key: k, reason });
    }
  }
  return plan;
}

/**
 * Writes a plan: each envelope only where the row still holds the envelope that was read, so a value
 * written meanwhile (already under the current key) is kept. Returns how many were written and how
 * many were skipped. Run it inside a transaction to make the batch atomic.
 */
export async function applyResealPlan(
  exec: Executor,
  plan: ResealPlan,
): Promise<{ resealed: number; skipped: number }> {
  const c = plan.column;
  let resealed = 0;
  for (const r of plan.rewrites) {
    const written = rowsOf(
      await exec.execute(sql`
        update ${tableOf(c)} set ${colOf(c)} = ${r.to}
        where ${keyOf(c)} = ${castKey(c, r.key)} and ${colOf(c)} = ${r.from}
        returning 1`),
    );
    resealed += written.length;
  }
  return { resealed, skipped: plan.rewrites.length - resealed };
}

/**
 * Throws when an envelope names a key `box` does not have, naming each such key id and the columns
 * that use it (never a secret). Reads key ids only.
 */
export async function checkSealedKeys(db: Db, box: SecretBox): Promise<void> {
  const missing = new Map<string, string[]>();
  for (const { column, keyId, n } of await countSealedByKey(db)) {
    if (box.keyIds.includes(keyId)) continue;
    missing.set(keyId, [...(missing.get(keyId) ?? []), `${columnName(column)}: ${n}`]);
  }
  if (missing.size === 0) return;
  const where = [...missing].map(([k, cols]) => `key ${k} (${cols.join(", ")})`).join("; ");
  throw new Error(
    `secrets in the database are sealed with a key this installation does not have: ${where}. ` +
      "Set ENCRYPTION_KEY, or add to ENCRYPTION_KEYS_PREVIOUS, the key with that id " +
      "(the first 8 hex characters of its SHA-256).",
  );
}

/** The tables that hold sealed columns, each once, in registry order. */
const SEALED_TABLES = [...new Set(SEALED_COLUMNS.map((c) => c.table))];

export function createResealService(deps: { db: Db; secrets: SecretBox; queue: JobQueue }): ResealService {
  const { db, secrets: box, queue } = deps;

  const status = async (): Promise<ResealStatus> => {
    const tables = Object.fromEntries(SEALED_TABLES.map((t) => [t, { sealed: 0, remaining: 0 }]));
    const keys: Record<string, number> = {};
    let remaining = 0;
    for (const { column, keyId, n } of await countSealedByKey(db)) {
      const t = tables[column.table]!;
      t.sealed += n;
      keys[keyId] = (keys[keyId] ?? 0) + n;
      if (keyId !== box.keyId) {
        t.remaining += n;
        remaining += n;
      }
    }
    const missingKeys = Object.keys(keys).filter((k) => !box.keyIds.includes(k));
    return { keyId: box.keyId, remaining, tables, keys, missingKeys };
  };

  return {
    status,

    checkKeys: () => checkSealedKeys(db, box),

    async run(options = {}) {
      const size = options.batchSize ?? DEFAULT_RESEAL_BATCH;
      const progress: Record<string, TableProgress> = Object.fromEntries(
        SEALED_TABLES.map((t) => [t, { resealed: 0, skipped: 0, failed: 0 }]),
      );
      for (const column of SEALED_COLUMNS) {
        let after: string | undefined;
        for (;;) {
          options.signal?.throwIfAborted();
          const plan = await planResealBatch(db, box, column, after, size);
          if (plan.lastKey === undefined) break;
          after = plan.lastKey;
          const t = progress[column.table]!;
          const written = await transaction(db, async (tx) => {
            const result = await applyResealPlan(tx, plan);
            await emitEvent(tx, {
              type: "reseal.progress",
              data: {
                keyId: box.keyId,
                table: column.table,
                column: column.column,
                resealed: t.resealed + result.resealed,
                skipped: t.skipped + result.skipped,
                failed: t.failed + plan.failures.length,
              },
            });
            return result;
          });
          t.resealed += written.resealed;
          t.skipped += written.skipped;
          t.failed += plan.failures.length;
          options.onBatch?.(structuredClone(progress));
        }
      }
      const after = await status();
      const tables = Object.fromEntries(
        SEALED_TABLES.map((t) => [t, { ...progress[t]!, ...after.tables[t]! }]),
      );
      await emitEvent(db, {
        type: "reseal.completed",
        data: { keyId: box.keyId, remaining: after.remaining, tables },
      });
      return { keyId: box.keyId, tables, remaining: after.remaining };
    },

    request() {
      return queue.enqueue("reseal", {}, { priority: "low", coalesceKey: "reseal" });
    },

    jobState(jobId) {
      return queue.state(JOBS.reseal.queue, jobId);
    },
  };
}
