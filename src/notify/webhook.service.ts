/**
 * The webhook service the API and workers use: webhook CRUD with a signing secret shown once, tests,
 * custom events, the delivery log and replay. It composes the sender (`webhook-sender.ts`: SSRF guard,
 * sealing, Discord/signed payloads), the delivery step (`webhook-delivery.ts`), the attempt verdict
 * (`webhook-attempt.ts`) and the API views (`webhook-views.ts`).
 */
import { randomUUID } from "node:crypto";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { describePrincipal } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import type { Db, DeliveryStatus, Executor } from "../db/index.js";
import { transaction } from "../db/index.js";
import { DomainError, pgConstraint, pgErrorCode } from "../errors.js";
import type { EventType } from "../events/index.js";
import { insertEvent, TEST_EVENT_TYPE } from "../events/index.js";
import type { JobQueue } from "../queue/index.js";
import { webhookMatches } from "./fan-out.js";
import type { AttemptRow, WebhookRow } from "./notify.repo.js";
import * as repo from "./notify.repo.js";
import type { DispatchInput, WebhookInput, WebhookUpdate } from "./notify.schema.js";
import type { Resolver } from "./safe-http.js";
import { maskUrl } from "./safe-http.js";
import { generateWebhookSecret } from "./signature.js";
import { trigger } from "./triggers.js";
import type { WebhookPolicy } from "./webhook-attempt.js";
import { createWebhookDelivery, LEASE_MARGIN_MS } from "./webhook-delivery.js";
import { createWebhookSender } from "./webhook-sender.js";
import type { DeliveryView, PublicWebhook, TestResult } from "./webhook-views.js";
import { deliveryFields, excerpt, toHistory, toPublic } from "./webhook-views.js";

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

const actorOf = (ctx: RequestContext) => (ctx.principal ? describePrincipal(ctx.principal) : "system");

export type WebhookService = ReturnType<typeof createWebhookService>;

/**
 * Webhooks: CRUD with a signing secret shown once, tests, custom events, the delivery log and replay,
 * and `deliver`, which sends one delivery once and records the attempt (in `webhook-delivery.ts`).
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { db, queue, policy } = deps;
  const sender = createWebhookSender(deps);
  const deliver = createWebhookDelivery({ db, policy, sender });

  async function mustGet(exec: Executor, id: string): Promise<WebhookRow> {
    const row = await repo.getWebhook(exec, id);
    if (!row) throw new DomainError("WEBHOOK_NOT_FOUND", `webhook ${id} does not exist`, { context: { id } });
    return row;
  }

  /**
   * What an update does to the sealed column: a new signing secret (returned once) on `rotateSecret`
   * or when a GOTIFY webhook becomes another type; the new token of a GOTIFY webhook. Throws
   * VALIDATION_FAILED for a token without GOTIFY, GOTIFY without a token, or a GOTIFY secret rotation.
   */
  function secretChange(before: WebhookRow, input: WebhookUpdate): { secret?: string; sealed?: string } {
    const type = input.type ?? before.type;
    const invalid = (message: string) =>
      new DomainError("VALIDATION_FAILED", message, { context: { field: "token" } });
    if (type === "GOTIFY") {
      if (input.rotateSecret)
        throw invalid("a GOTIFY webhook has no signing secret; send a new token instead");
      if (input.token !== undefined) return { sealed: sender.sealSecret(before.id, input.token) };
      if (before.type !== "GOTIFY") throw invalid("a webhook becomes GOTIFY only with its application token");
      return {};
    }
    if (input.token !== undefined) throw invalid("only a GOTIFY webhook takes a token");
    if (!input.rotateSecret && before.type !== "GOTIFY") return {};
    const secret = generateWebhookSecret();
    return { secret, sealed: sender.sealSecret(before.id, secret) };
  }

  function nameTaken(err: unknown, name: string | undefined): never {
    if (pgErrorCode(err) === "23505" && pgConstraint(err) === "webhooks_name_key") {
      throw new DomainError("CONFLICT", `a webhook named ${name} already exists`, { context: { name } });
    }
    throw err;
  }

  return {
    /**
     * Creates a webhook and its signing secret. The secret is in this result only; a GOTIFY webhook
     * has its application token sealed instead, and no secret. Throws WEBHOOK_URL_REFUSED for a URL
     * that is not https or reaches an internal address, CONFLICT for a taken name.
     */
    async create(
      input: WebhookInput,
      ctx: RequestContext = {},
    ): Promise<PublicWebhook & { secret?: string }> {
      const url = await sender.checkUrl(input.webhookUrl);
      const id = randomUUID();
      const secret = input.type === "GOTIFY" ? undefined : generateWebhookSecret();
      // The schema made sure a GOTIFY webhook has its token.
      const sealed = sender.sealSecret(id, secret ?? input.token!);
      try {
        return await transaction(db, async (tx) => {
          const row = await repo.insertWebhook(tx, {
            id,
            name: input.name,
            type: input.type,
            urlEnc: sender.sealUrl(id, url),
            urlDisplay: maskUrl(url),
            scope: input.scope,
            events: [...new Set(input.events)],
            enabled: input.enabled,
            secretEnc: sealed,
          });
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "webhook.created",
            entityType: "webhook",
            entityId: id,
            details: { name: row.name, type: row.type, url: row.urlDisplay, events: row.events },
            requestId: ctx.requestId ?? null,
          });
          return { ...toPublic(row), ...(secret !== undefined ? { secret } : {}) };
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
     * returns a new secret, once (as does turning a GOTIFY webhook into another type). A GOTIFY
     * webhook takes a new `token` instead, and another type becomes GOTIFY only with one. Throws
     * WEBHOOK_NOT_FOUND, WEBHOOK_URL_REFUSED, CONFLICT, VALIDATION_FAILED.
     */
    async update(
      input: WebhookUpdate,
      ctx: RequestContext = {},
    ): Promise<PublicWebhook & { secret?: string }> {
      const url = input.webhookUrl === undefined ? undefined : await sender.checkUrl(input.webhookUrl);
      try {
        return await transaction(db, async (tx) => {
          const before = await mustGet(tx, input.id);
          const { secret, sealed } = secretChange(before, input);
          const reEnabled = input.enabled === true && !before.enabled;
          const row = await repo.updateWebhook(tx, input.id, {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.type !== undefined ? { type: input.type } : {}),
            ...(input.scope !== undefined ? { scope: input.scope } : {}),
            ...(input.events !== undefined ? { events: [...new Set(input.events)] } : {}),
            ...(url !== undefined ? { urlEnc: sender.sealUrl(input.id, url), urlDisplay: maskUrl(url) } : {}),
            ...(sealed !== undefined ? { secretEnc: sealed } : {}),
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
              fields: Object.keys(input).filter((k) => k !== "id" && k !== "webhookUrl" && k !== "token"),
              tokenChanged: input.token !== undefined,
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
     * With a `sample`, the receiver gets that built-in event's type and data, marked `test: true`;
     * either way the event log holds a `webhook.test` row (naming the sampled type in `testOf`), so
     * nothing records the sampled event as having happened. The attempt is recorded in the delivery
     * log; it changes neither the failure streak nor the enabled flag. Throws WEBHOOK_NOT_FOUND.
     */
    async test(
      id: string,
      ctx: RequestContext = {},
      sample?: { event: EventType; data: Record<string, unknown> },
    ): Promise<TestResult> {
      const webhook = await mustGet(db, id);
      const { event, deliveryId } = await transaction(db, async (tx) => {
        const row = await repo.insertEventRow(tx, {
          type: TEST_EVENT_TYPE,
          data: {
            webhook: { id: webhook.id, name: webhook.name },
            requestedBy: actorOf(ctx),
            ...(sample ? { testOf: sample.event } : {}),
          },
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
      const message = sample ? { ...event, type: sample.event, data: { ...sample.data, test: true } } : event;
      const result = await sender.send(webhook, message, deliveryId);
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
     * Processes one delivery once; see `createWebhookDelivery`. Throws only when the database fails
     * (the job then retries).
     */
    deliver,
  };
}
