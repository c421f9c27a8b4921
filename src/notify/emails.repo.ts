/**
 * Drizzle queries of queued emails: inserts (API and event fan-out), claims under a lease, settling,
 * the email log, and the overdue sweep.
 */
import { and, asc, count, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { EmailStatus, EmailTemplate, Executor } from "../db/index.js";
import { emails } from "../db/index.js";
import type { EmailRow } from "./notify.repo.js";

export async function insertEmail(
  exec: Executor,
  values: {
    to: string;
    template: EmailTemplate;
    subject: string | null;
    data: Record<string, unknown>;
    requestedBy: string | null;
  },
): Promise<EmailRow> {
  const [row] = await exec.insert(emails).values(values).returning();
  return row!;
}

/** Inserts the emails of events, skipping (event, template, recipient) triples that exist. */
export async function insertEventEmails(
  exec: Executor,
  rows: { to: string; template: EmailTemplate; data: Record<string, unknown>; eventId: string }[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await exec
    .insert(emails)
    .values(rows.map((r) => ({ ...r, requestedBy: "event" })))
    .onConflictDoNothing({ target: [emails.eventId, emails.template, emails.to] })
    .returning({ id: emails.id });
  return inserted.map((r) => r.id);
}

export async function getEmail(exec: Executor, id: string): Promise<EmailRow | undefined> {
  const [row] = await exec.select().from(emails).where(eq(emails.id, id));
  return row;
}

export async function claimEmail(exec: Executor, id: string, leaseMs: number): Promise<EmailRow | undefined> {
  const [row] = await exec
    .update(emails)
    .set({
      attempts: sql`${emails.attempts} + 1`,
      leasedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(emails.id, id),
        eq(emails.status, "queued"),
        or(isNull(emails.leasedUntil), lt(emails.leasedUntil, sql`now()`)),
      ),
    )
    .returning();
  return row;
}

export async function settleEmail(
  exec: Executor,
  id: string,
  patch: {
    status: EmailStatus;
    error?: string | null;
    providerId?: string | null;
    nextAttemptAt?: Date | null;
    sentAt?: Date | null;
    subject?: string | null;
  },
): Promise<void> {
  await exec
    .update(emails)
    .set({ ...patch, leasedUntil: null, updatedAt: new Date() })
    .where(and(eq(emails.id, id), eq(emails.status, "queued")));
}

export async function listEmails(
  exec: Executor,
  q: {
    limit: number;
    offset: number;
    status?: EmailStatus | undefined;
    template?: EmailTemplate | undefined;
  },
) {
  const where = and(
    q.status ? eq(emails.status, q.status) : undefined,
    q.template ? eq(emails.template, q.template) : undefined,
  );
  const [items, [total]] = await Promise.all([
    exec
      .select()
      .from(emails)
      .where(where)
      .orderBy(desc(emails.createdAt), desc(emails.id))
      .limit(q.limit)
      .offset(q.offset),
    exec.select({ n: count() }).from(emails).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export async function overdueEmails(
  exec: Executor,
  before: Date,
  limit: number,
): Promise<Pick<EmailRow, "id" | "nextAttemptAt">[]> {
  return exec
    .select({ id: emails.id, nextAttemptAt: emails.nextAttemptAt })
    .from(emails)
    .where(
      and(
        eq(emails.status, "queued"),
        lt(emails.updatedAt, before),
        or(isNull(emails.nextAttemptAt), lt(emails.nextAttemptAt, before)),
      ),
    )
    .orderBy(asc(emails.updatedAt))
    .limit(limit);
}
