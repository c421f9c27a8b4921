/**
 * Drizzle queries of webhooks: CRUD, the failure streak, disabling. Executor first; services own
 * transactions.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Executor, WebhookType } from "../db/index.js";
import { webhooks } from "../db/index.js";
import type { WebhookRow } from "./notify.repo.js";

export async function insertWebhook(
  exec: Executor,
  values: {
    id: string;
    name: string;
    type: WebhookType;
    urlEnc: string;
    urlDisplay: string;
    scope: string;
    events: string[];
    enabled: boolean;
    secretEnc: string;
  },
): Promise<WebhookRow> {
  const [row] = await exec.insert(webhooks).values(values).returning();
  return row!;
}

export async function getWebhook(exec: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await exec.select().from(webhooks).where(eq(webhooks.id, id));
  return row;
}

export async function listWebhooks(exec: Executor): Promise<WebhookRow[]> {
  return exec.select().from(webhooks).orderBy(asc(webhooks.name));
}

export async function enabledWebhooks(exec: Executor): Promise<WebhookRow[]> {
  return exec.select().from(webhooks).where(eq(webhooks.enabled, true));
}

export async function updateWebhook(
  exec: Executor,
  id: string,
  patch: Partial<Omit<WebhookRow, "id" | "createdAt">>,
): Promise<WebhookRow | undefined> {
  const [row] = await exec
    .update(webhooks)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(webhooks.id, id))
    .returning();
  return row;
}

export async function deleteWebhook(exec: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await exec.delete(webhooks).where(eq(webhooks.id, id)).returning();
  return row;
}

/** Adds one failed attempt to the webhook's streak; returns the new streak. */
export async function addFailure(exec: Executor, id: string): Promise<number> {
  const [row] = await exec
    .update(webhooks)
    .set({ consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1` })
    .where(eq(webhooks.id, id))
    .returning({ n: webhooks.consecutiveFailures });
  return row?.n ?? 0;
}

export async function resetFailures(exec: Executor, id: string): Promise<void> {
  await exec
    .update(webhooks)
    .set({ consecutiveFailures: 0, lastDeliveryAt: new Date() })
    .where(eq(webhooks.id, id));
}

/** Disables an enabled webhook; undefined when it was already disabled (so one caller reports it). */
export async function disableWebhook(
  exec: Executor,
  id: string,
  reason: string,
): Promise<WebhookRow | undefined> {
  const [row] = await exec
    .update(webhooks)
    .set({ enabled: false, disabledReason: reason, disabledAt: new Date(), updatedAt: new Date() })
    .where(and(eq(webhooks.id, id), eq(webhooks.enabled, true)))
    .returning();
  return row;
}
