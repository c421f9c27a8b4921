/**
 * The audit log: who changed what. Rows are written inside the caller's transaction so an audit entry
 * exists exactly when its change does. Never records a secret: callers pass ids and public fields only.
 */
import { and, count, desc, eq, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/index.js";
import { auditLog, placeholderQuery } from "../db/index.js";

export interface AuditEntry {
  actor: string;
  action: string;
  entityType: string;
  entityId?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
}

/** An audit row as written: an `AuditEntry` with its defaults filled in. */
export type AuditRow = {
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  details: Record<string, unknown>;
  requestId: string | null;
};

const insertAuditRow = placeholderQuery<AuditRow>((exec) =>
  exec.insert(auditLog).values({
    actor: sql.placeholder("actor"),
    action: sql.placeholder("action"),
    entityType: sql.placeholder("entityType"),
    entityId: sql.placeholder("entityId"),
    details: sql.placeholder("details"),
    requestId: sql.placeholder("requestId"),
  }),
);

/** Inserts one audit row with the executor given (pass the change's transaction). */
export async function recordAudit(exec: Executor, entry: AuditEntry): Promise<void> {
  await insertAuditRow(exec, auditRow(entry));
}

/** The audit row of `entry` as `recordAudit` writes it, for a statement that writes it with its change. */
export function auditRow(entry: AuditEntry): AuditRow {
  return {
    actor: entry.actor,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId ?? null,
    details: entry.details ?? {},
    requestId: entry.requestId ?? null,
  };
}

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  limit: number;
  offset: number;
}

/** Newest first, with the total matching count. */
export async function listAudit(exec: Executor, q: AuditQuery) {
  const where = and(
    q.entityType ? eq(auditLog.entityType, q.entityType) : undefined,
    q.entityId ? eq(auditLog.entityId, q.entityId) : undefined,
  );
  const [items, [total]] = await Promise.all([
    exec.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(q.limit).offset(q.offset),
    exec.select({ n: count() }).from(auditLog).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export type AuditService = ReturnType<typeof createAuditService>;

/** Read access to the audit log for the API. */
export function createAuditService(db: Db) {
  return { list: (q: AuditQuery) => listAudit(db, q) };
}
