import { randomUUID } from "node:crypto";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { describePrincipal } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import type { Db, DeliveryStatus, Executor, WebhookType } from "../db/index.js";
import { transaction } from "../db/index.js";
import { DomainError, pgConstraint, pgErrorCode } from "../errors.js";
import { insertEvent, TEST_EVENT_TYPE } from "../events/index.js";
import type { JobQueue } from "../queue/index.js";
import type { EventMessage } from "./discord.js";
import { buildDiscordPayload } from "./discord.js";
import { backoffMs, retryAfterMs, webhookMatches } from "./fan-out.js";
import type { AttemptRow, DeliveryRow, WebhookRow } from "./notify.repo.js";
import * as repo from "./notify.repo.js";
import type { DispatchInput, WebhookInput, WebhookUpdate } from "./notify.schema.js";
import type { HttpOutcome, Resolver } from "./safe-http.js";
import { maskUrl, parseWebhookUrl, resolveSafely, safePost, UrlRefusedError } from "./safe-http.js";
import { buildGenericBody, generateWebhookSecret, signedHeaders } from "./signature.js";
import { trigger } from "./triggers.js";

const SECOND_MS = 1_000;
const EXCERPT_CHARS = 500;
/** A lease outlives the request timeout by this much, so a slow send is never sent twice at once. */
const LEASE_MARGIN_MS = 5 * SECOND_MS;
/**
 * How long a delivery whose webhook is at its in-flight bound waits before it looks again, jittered
 * so that a backlog does not come back all at once.
 */
const BUSY_RETRY_MS = { min: 250, max: SECOND_MS };

export interface WebhookPolicy {
  /** Refuse nothing by address and allow `http:` (tests and labs only). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** Consecutive failed attempts after which a webhook is disabled. */
  maxFailures: number;
  /**
   * Deliveries of one webhook sent at once. A job of a webhook at its bound steps aside (moves to
   * delayed for `BUSY_RETRY_MS`) instead of holding a worker slot, so a slow or dead receiver
   * delays only its own deliveries.
   */
  maxInFlight: number;
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface WebhookServiceDeps {
  db: Db;
  queue: JobQueue;
  box: SecretBox;
  policy: WebhookPolicy;
  /** DNS for the SSRF guard; the system resolver unless a test injects one. */
  resolver?: Resolver;
}

export interface RequestContext {
  principal?: Principal | undefined;
  requestId?: string | undefined;
}

/** A webhook as the API shows it: the URL masked, never the secret. */
export interface PublicWebhook {
  id: string;
  name: string;
  type: WebhookType;
  webhookUrl: string;
  scope: string;
  events: string[];
  enabled: boolean;
  consecutiveFailures: number;
  disabledReason: string | null;
  disabledAt: Date | null;
  lastDeliveryAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  responseExcerpt: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  history: {
    startedAt: Date;
    durationMs: number;
    statusCode: number | null;
    outcome: string;
    error: string | null;
  }[];
}

export interface TestResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  /** The first 500 characters of the receiver's answer. */
  body: string | null;
  error: string | null;
}

/** What one processing of a delivery decided. `retry` asks the caller to look again at `retryAt`. */
export type DeliverOutcome =
  | { status: "delivered" | "failed" | "cancelled" | "skipped"; note?: string }
  | { status: "retry"; retryAt: Date; note?: string };

/** How one HTTP attempt is judged. Pure. */
export interface AttemptVerdict {
  outcome: "delivered" | "retry" | "failed" | "rate-limited" | "refused";
  /** When to try again (retry and rate-limited with attempts left). */
  retryInMs?: number;
  /** Counts toward the webhook's failure streak. */
  isFailure: boolean;
  /** Disable the webhook at once, with this reason. */
  disableReason?: string;
  error: string | null;
}

/** Statuses that no retry can fix. */
const NOT_RETRIED = new Set([400, 401, 403, 404]);

/**
 * Judges one attempt: 2xx delivered; 429 waits what the receiver asks (`retry_after`,
 * `X-RateLimit-Reset-After`, `Retry-After`) without counting as a failure; 400/401/403/404 fail at
 * once and 404 disables the webhook; 3xx fail (redirects are not followed); 5xx, other 4xx and
 * network errors retry with backoff until `maxAttempts`; a URL the SSRF guard refuses fails.
 */
export function judgeAttempt(
  result: HttpOutcome,
  attempts: number,
  policy: Pick<WebhookPolicy, "maxAttempts" | "backoffBaseMs" | "backoffMaxMs">,
  nowMs: number,
  random: () => number = Math.random,
): AttemptVerdict {
  const hasAttemptsLeft = attempts < policy.maxAttempts;
  const backoff = () => backoffMs(attempts, policy.backoffBaseMs, policy.backoffMaxMs, random);
  if (result.kind === "error") {
    if (result.refused) return { outcome: "refused", isFailure: true, error: result.error };
    return hasAttemptsLeft
      ? { outcome: "retry", retryInMs: backoff(), isFailure: true, error: result.error }
      : { outcome: "failed", isFailure: true, error: `${result.error} (gave up after ${attempts} attempts)` };
  }
  const { status } = result;
  if (status >= 200 && status < 300) return { outcome: "delivered", isFailure: false, error: null };
  if (status === 429) {
    const wait = retryAfterMs(result.headers, result.body, nowMs) ?? backoff();
    return hasAttemptsLeft
      ? { outcome: "rate-limited", retryInMs: wait, isFailure: false, error: "rate limited (429)" }
      : {
          outcome: "failed",
          isFailure: true,
          error: `rate limited (429); gave up after ${attempts} attempts`,
        };
  }
  if (status === 404) {
    return {
      outcome: "failed",
      isFailure: true,
      error: "the receiver answered 404",
      disableReason: "the receiver answered 404: the webhook no longer exists",
    };
  }
  if (NOT_RETRIED.has(status))
    return { outcome: "failed", isFailure: true, error: `the receiver answered ${status}` };
  if (status >= 300 && status < 400) {
    return {
      outcome: "failed",
      isFailure: true,
      error: `the receiver answered ${status}; redirects are not followed`,
    };
  }
  return hasAttemptsLeft
    ? { outcome: "retry", retryInMs: backoff(), isFailure: true, error: `the receiver answered ${status}` }
    : {
        outcome: "failed",
        isFailure: true,
        error: `the receiver answered ${status}; gave up after ${attempts} attempts`,
      };
}

const toPublic = (w: WebhookRow): PublicWebhook => ({
  id: w.id,
  name: w.name,
  type: w.type,
  webhookUrl: w.urlDisplay,
  scope: w.scope,
  events: w.events,
  enabled: w.enabled,
  consecutiveFailures: w.consecutiveFailures,
  disabledReason: w.disabledReason,
  disabledAt: w.disabledAt,
  lastDeliveryAt: w.lastDeliveryAt,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

const toHistory = (a: AttemptRow): DeliveryView["history"][number] => ({
  startedAt: a.startedAt,
  durationMs: a.durationMs,
  statusCode: a.statusCode,
  outcome: a.outcome,
  error: a.error,
});

const urlAad = (id: string) => `webhook:${id}:url`;
const secretAad = (id: string) => `webhook:${id}:secret`;
const excerpt = (body: string) => (body.length > EXCERPT_CHARS ? `${body.slice(0, EXCERPT_CHARS)}…` : body);
const actorOf = (ctx: RequestContext) => (ctx.principal ? describePrincipal(ctx.principal) : "system");

export type WebhookService = ReturnType<typeof createWebhookService>;

/**
 * Webhooks: CRUD with a signing secret shown once, tests, custom events, the delivery log and replay,
 * and `deliver`, which sends one delivery once and records the attempt.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { db, queue, box, policy } = deps;
  const http = { allowPrivate: policy.allowPrivate, timeoutMs: policy.timeoutMs, resolver: deps.resolver };

  async function checkUrl(raw: string): Promise<string> {
    try {
      const url = parseWebhookUrl(raw, policy.allowPrivate);
      await resolveSafely(url, http);
      return url.toString();
    } catch (err) {
      if (err instanceof UrlRefusedError) throw new DomainError("WEBHOOK_URL_REFUSED", err.message);
      throw err;
    }
  }

  async function mustGet(exec: Executor, id: string): Promise<WebhookRow> {
    const row = await repo.getWebhook(exec, id);
    if (!row) throw new DomainError("WEBHOOK_NOT_FOUND", `webhook ${id} does not exist`, { context: { id } });
    return row;
  }

  function nameTaken(err: unknown, name: string | undefined): never {
    if (pgErrorCode(err) === "23505" && pgConstraint(err) === "webhooks_name_key") {
      throw new DomainError("CONFLICT", `a webhook named ${name} already exists`, { context: { name } });
    }
    throw err;
  }

  /** The request of one delivery: Discord embeds, or a signed JSON body. */
  function requestFor(webhook: WebhookRow, event: EventMessage, deliveryId: string) {
    if (webhook.type === "DISCORD") {
      return {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(buildDiscordPayload(event)),
      };
    }
    const body = buildGenericBody(event, deliveryId);
    const secret = box.open(webhook.secretEnc, secretAad(webhook.id));
    const nowSeconds = Math.floor(Date.now() / SECOND_MS);
    return { headers: signedHeaders(secret, body, { eventType: event.type, deliveryId, nowSeconds }), body };
  }

  async function send(webhook: WebhookRow, event: EventMessage, deliveryId: string): Promise<HttpOutcome> {
    let url: string;
    let request: { headers: Record<string, string>; body: string };
    try {
      url = box.open(webhook.urlEnc, urlAad(webhook.id));
      request = requestFor(webhook, event, deliveryId);
    } catch (err) {
      // A key missing from ENCRYPTION_KEYS_PREVIOUS: no retry can fix it, so never send and say why.
      return {
        kind: "error",
        refused: true,
        error: `cannot open the webhook's URL or secret: ${(err as Error).message}`,
        durationMs: 0,
      };
    }
    return safePost(url, request, http);
  }

  /** Disables a webhook and records `webhook.disabled` in the same transaction (once, whoever wins). */
  async function disable(exec: Executor, webhook: WebhookRow, reason: string): Promise<void> {
    const disabled = await repo.disableWebhook(exec, webhook.id, reason);
    if (!disabled) return;
    await insertEvent(exec, {
      type: "webhook.disabled",
      data: { webhook: { id: webhook.id, name: webhook.name, type: webhook.type }, reason },
    });
  }

  return {
    /**
     * Creates a webhook and its signing secret. The secret is in this result only. Throws
     * WEBHOOK_URL_REFUSED for a URL that is not https or reaches an internal address, CONFLICT for a
     * taken name.
     */
    async create(input: WebhookInput, ctx: RequestContext = {}): Promise<PublicWebhook & { secret: string }> {
      const url = await checkUrl(input.webhookUrl);
      const id = randomUUID();
      const secret = generateWebhookSecret();
      try {
        return await transaction(db, async (tx) => {
          const row = await repo.insertWebhook(tx, {
            id,
            name: input.name,
            type: input.type,
            urlEnc: box.seal(url, urlAad(id)),
            urlDisplay: maskUrl(url),
            scope: input.scope,
            events: [...new Set(input.events)],
            enabled: input.enabled,
            secretEnc: box.seal(secret, secretAad(id)),
          });
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "webhook.created",
            entityType: "webhook",
            entityId: id,
            details: { name: row.name, type: row.type, url: row.urlDisplay, events: row.events },
            requestId: ctx.requestId ?? null,
          });
          return { ...toPublic(row), secret };
        });
      } catch (err) {
        nameTaken(err, input.name);
      }
    },

    async list(): Promise<PublicWebhook[]> {
      return (await repo.listWebhooks(db)).map(toPublic);
    },

    /** Throws WEBHOOK_NOT_FOUND. */
    async get(id: string): Promise<PublicWebhook> {
      return toPublic(await mustGet(db, id));
    },

    /**
     * Changes a webhook. Enabling it clears its failure streak and disabled reason; `rotateSecret`
     * returns a new secret, once. Throws WEBHOOK_NOT_FOUND, WEBHOOK_URL_REFUSED, CONFLICT.
     */
    async update(
      input: WebhookUpdate,
      ctx: RequestContext = {},
    ): Promise<PublicWebhook & { secret?: string }> {
      const url = input.webhookUrl === undefined ? undefined : await checkUrl(input.webhookUrl);
      const secret = input.rotateSecret ? generateWebhookSecret() : undefined;
      try {
        return await transaction(db, async (tx) => {
          const before = await mustGet(tx, input.id);
          const reEnabled = input.enabled === true && !before.enabled;
          const row = await repo.updateWebhook(tx, input.id, {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.type !== undefined ? { type: input.type } : {}),
            ...(input.scope !== undefined ? { scope: input.scope } : {}),
            ...(input.events !== undefined ? { events: [...new Set(input.events)] } : {}),
            ...(url !== undefined
              ? { urlEnc: box.seal(url, urlAad(input.id)), urlDisplay: maskUrl(url) }
              : {}),
            ...(secret !== undefined ? { secretEnc: box.seal(secret, secretAad(input.id)) } : {}),
            ...(input.enabled === false
              ? { enabled: false, disabledReason: "disabled by an admin", disabledAt: new Date() }
              : {}),
            ...(reEnabled
              ? { enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0 }
              : {}),
          });
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "webhook.updated",
            entityType: "webhook",
            entityId: input.id,
            details: {
              fields: Object.keys(input).filter((k) => k !== "id" && k !== "webhookUrl"),
              urlChanged: url !== undefined,
            },
            requestId: ctx.requestId ?? null,
          });
          return { ...toPublic(row!), ...(secret ? { secret } : {}) };
        });
      } catch (err) {
        nameTaken(err, input.name);
      }
    },

    /** Deletes a webhook and its delivery log. Throws WEBHOOK_NOT_FOUND. */
    async remove(id: string, ctx: RequestContext = {}): Promise<PublicWebhook> {
      return transaction(db, async (tx) => {
        const row = await repo.deleteWebhook(tx, id);
        if (!row)
          throw new DomainError("WEBHOOK_NOT_FOUND", `webhook ${id} does not exist`, { context: { id } });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "webhook.deleted",
          entityType: "webhook",
          entityId: id,
          details: { name: row.name },
          requestId: ctx.requestId ?? null,
        });
        return toPublic(row);
      });
    },

    /**
     * Sends a `webhook.test` event to one webhook now (no retry) and returns the receiver's answer.
     * The attempt is recorded in the delivery log; it changes neither the failure streak nor the
     * enabled flag. Throws WEBHOOK_NOT_FOUND.
     */
    async test(id: string, ctx: RequestContext = {}): Promise<TestResult> {
      const webhook = await mustGet(db, id);
      const { event, deliveryId } = await transaction(db, async (tx) => {
        const row = await repo.insertEventRow(tx, {
          type: TEST_EVENT_TYPE,
          data: { webhook: { id: webhook.id, name: webhook.name }, requestedBy: actorOf(ctx) },
          source: actorOf(ctx),
          relayedAt: new Date(),
        });
        // Leased to this call: the delivery is pending until the answer is recorded, and a worker
        // must not send it a second time meanwhile (the outbox sweep requeues pending deliveries).
        const [created] = await repo.insertDeliveries(
          tx,
          [{ webhookId: id, eventId: row.id }],
          policy.timeoutMs + LEASE_MARGIN_MS,
        );
        return { event: row, deliveryId: created! };
      });
      const startedAt = new Date();
      const result = await send(webhook, event, deliveryId);
      const ok = result.kind === "response" && result.status >= 200 && result.status < 300;
      const statusCode = result.kind === "response" ? result.status : null;
      const body = result.kind === "response" ? excerpt(result.body) : null;
      const error =
        result.kind === "error" ? result.error : ok ? null : `the receiver answered ${statusCode}`;
      await transaction(db, async (tx) => {
        await repo.insertAttempt(tx, {
          deliveryId,
          startedAt,
          durationMs: result.durationMs,
          statusCode,
          outcome: ok ? "delivered" : "failed",
          error,
          responseExcerpt: body,
        });
        await repo.settleDelivery(tx, deliveryId, {
          status: ok ? "delivered" : "failed",
          lastStatusCode: statusCode,
          lastError: error,
          responseExcerpt: body,
          nextAttemptAt: null,
          deliveredAt: ok ? new Date() : null,
        });
      });
      return { ok, statusCode, durationMs: result.durationMs, body, error };
    },

    /**
     * Records a custom event for every enabled webhook whose events list names it (or `*`); the relay
     * delivers it. Returns the event id and how many webhooks match now.
     */
    async dispatch(
      input: DispatchInput,
      ctx: RequestContext = {},
    ): Promise<{ eventId: string; webhooks: number }> {
      return transaction(db, async (tx) => {
        const emitted = await insertEvent(
          tx,
          { type: input.event, data: input.data },
          { source: actorOf(ctx) },
        );
        const hooks = await repo.enabledWebhooks(tx);
        const matching = hooks.filter((w) =>
          webhookMatches(w, { type: input.event, data: input.data }),
        ).length;
        return { eventId: emitted.id, webhooks: matching };
      });
    },

    /** The delivery log of a webhook, newest first, each with every attempt. Throws WEBHOOK_NOT_FOUND. */
    async listDeliveries(q: {
      webhookId: string;
      limit: number;
      offset: number;
      status?: DeliveryStatus | undefined;
    }): Promise<{ items: DeliveryView[]; total: number }> {
      await mustGet(db, q.webhookId);
      const { items, total } = await repo.listDeliveries(db, q);
      const attempts = await repo.attemptsOf(
        db,
        items.map((i) => i.delivery.id),
      );
      const byDelivery = new Map<string, AttemptRow[]>();
      for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
      return {
        items: items.map(({ delivery: d, eventType }) => ({
          ...deliveryFields(d),
          eventType,
          history: (byDelivery.get(d.id) ?? []).map(toHistory),
        })),
        total,
      };
    },

    /**
     * Sends a finished delivery again (a new cycle of attempts). Throws WEBHOOK_NOT_FOUND,
     * DELIVERY_NOT_FOUND, or CONFLICT when it is still pending or its webhook is disabled.
     */
    async replay(
      webhookId: string,
      deliveryId: string,
    ): Promise<{ delivery: DeliveryView; enqueued: boolean }> {
      const webhook = await mustGet(db, webhookId);
      const existing = await repo.getDelivery(db, deliveryId);
      if (!existing || existing.webhookId !== webhookId) {
        throw new DomainError(
          "DELIVERY_NOT_FOUND",
          `delivery ${deliveryId} of webhook ${webhookId} does not exist`,
          {
            context: { webhookId, deliveryId },
          },
        );
      }
      if (!webhook.enabled) {
        throw new DomainError("CONFLICT", `webhook ${webhookId} is disabled; enable it before replaying`, {
          context: { webhookId },
        });
      }
      const reopened = await repo.reopenDelivery(db, deliveryId);
      if (!reopened) {
        throw new DomainError("CONFLICT", `delivery ${deliveryId} is still pending`, {
          context: { deliveryId },
        });
      }
      const enqueued = await trigger(queue, "webhook", deliveryId).then(
        () => true,
        () => false,
      );
      const bundle = await repo.getDeliveryBundle(db, deliveryId);
      return {
        delivery: { ...deliveryFields(reopened), eventType: bundle?.event.type ?? "", history: [] },
        enqueued,
      };
    },

    /**
     * Processes one delivery: sends it once (under a lease, so no two workers send it at once, and
     * only while fewer than `maxInFlight` deliveries of its webhook are leased; otherwise it asks to
     * be retried shortly without counting an attempt),
     * records the attempt, and settles it as delivered, failed, or pending with its next attempt
     * time. A duplicate job finds the delivery settled and does nothing. Counts failures on the
     * webhook and disables it (emitting `webhook.disabled`) after a 404 or `maxFailures` in a row.
     * Throws only when the database fails (the job then retries).
     */
    async deliver(deliveryId: string, now = new Date()): Promise<DeliverOutcome> {
      const bundle = await repo.getDeliveryBundle(db, deliveryId);
      if (!bundle) return { status: "skipped", note: "delivery is gone" };
      const { delivery, webhook, event } = bundle;
      if (delivery.status !== "pending") return { status: "skipped", note: `already ${delivery.status}` };
      if (!webhook.enabled) {
        await repo.cancelDelivery(
          db,
          deliveryId,
          `webhook disabled: ${webhook.disabledReason ?? "by an admin"}`,
        );
        return { status: "cancelled" };
      }
      if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > now.getTime() + 50) {
        return { status: "retry", retryAt: delivery.nextAttemptAt, note: "not due yet" };
      }
      const claimed = await transaction(db, (tx) =>
        repo.claimDelivery(tx, deliveryId, policy.timeoutMs + LEASE_MARGIN_MS, {
          webhookId: webhook.id,
          maxInFlight: policy.maxInFlight,
        }),
      );
      if (claimed === "busy") {
        const waitMs = BUSY_RETRY_MS.min + Math.random() * (BUSY_RETRY_MS.max - BUSY_RETRY_MS.min);
        return {
          status: "retry",
          retryAt: new Date(Date.now() + waitMs),
          note: `${policy.maxInFlight} deliveries of this webhook in flight`,
        };
      }
      if (!claimed) {
        const current = await repo.getDelivery(db, deliveryId);
        if (current?.status !== "pending")
          return { status: "skipped", note: `already ${current?.status ?? "gone"}` };
        return {
          status: "retry",
          retryAt: current.leasedUntil ?? new Date(Date.now() + SECOND_MS),
          note: "leased",
        };
      }

      const startedAt = new Date();
      const result = await send(webhook, event, deliveryId);
      const verdict = judgeAttempt(result, claimed.attempts, policy, Date.now());
      const statusCode = result.kind === "response" ? result.status : null;
      const body = result.kind === "response" ? excerpt(result.body) : null;
      const retryAt = verdict.retryInMs !== undefined ? new Date(Date.now() + verdict.retryInMs) : undefined;

      await transaction(db, async (tx) => {
        await repo.insertAttempt(tx, {
          deliveryId,
          startedAt,
          durationMs: result.durationMs,
          statusCode,
          outcome: verdict.outcome,
          error: verdict.error,
          responseExcerpt: body,
        });
        await repo.settleDelivery(tx, deliveryId, {
          status: verdict.outcome === "delivered" ? "delivered" : retryAt ? "pending" : "failed",
          lastStatusCode: statusCode,
          lastError: verdict.error,
          responseExcerpt: body,
          nextAttemptAt: retryAt ?? null,
          deliveredAt: verdict.outcome === "delivered" ? new Date() : null,
        });
        if (verdict.outcome === "delivered") await repo.resetFailures(tx, webhook.id);
        if (verdict.disableReason) await disable(tx, webhook, verdict.disableReason);
        else if (verdict.isFailure) {
          const streak = await repo.addFailure(tx, webhook.id);
          if (streak >= policy.maxFailures) {
            await disable(
              tx,
              webhook,
              `${streak} consecutive failed attempts; last: ${verdict.error ?? "unknown"}`,
            );
          }
        }
      });
      if (verdict.outcome === "delivered") return { status: "delivered" };
      if (retryAt) return { status: "retry", retryAt, note: verdict.error ?? undefined };
      return { status: "failed", note: verdict.error ?? undefined };
    },
  };
}

function deliveryFields(d: DeliveryRow) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    responseExcerpt: d.responseExcerpt,
    nextAttemptAt: d.nextAttemptAt,
    deliveredAt: d.deliveredAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
