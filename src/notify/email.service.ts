import { describePrincipal } from "../auth/index.js";
import type { Db, EmailStatus, EmailTemplate } from "../db/index.js";
import { DomainError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { JobQueue } from "../queue/index.js";
import { backoffMs } from "./fan-out.js";
import type { Mailer } from "./mailer.js";
import type { EmailRow } from "./notify.repo.js";
import * as repo from "./notify.repo.js";
import type { EmailInput } from "./notify.schema.js";
import type { NodeConfigFile } from "./templates.js";
import { renderEmail, TEMPLATE_DATA } from "./templates.js";
import { triggerNew } from "./triggers.js";
import type { RequestContext } from "./webhook.service.js";

const SECOND_MS = 1_000;
const LEASE_MARGIN_MS = 5 * SECOND_MS;

/**
 * Where node-config emails get a node's wg-quick config and QR code. The mesh module implements it;
 * undefined means the node has no server-held private key (or is gone), so there is nothing to send.
 */
export interface NodeConfigSource {
  configFor(nodeId: string): Promise<NodeConfigFile | undefined>;
}

export interface EmailPolicy {
  from: string;
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface EmailServiceDeps {
  db: Db;
  queue: JobQueue;
  /** Undefined when `RESEND_API_KEY` is not set: emails are then recorded as skipped. */
  mailer: Mailer | undefined;
  nodeConfigs: NodeConfigSource | undefined;
  policy: EmailPolicy;
  logger: Logger;
}

export interface EmailView {
  id: string;
  to: string;
  template: EmailTemplate;
  subject: string | null;
  status: EmailStatus;
  providerId: string | null;
  attempts: number;
  error: string | null;
  eventId: string | null;
  requestedBy: string | null;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type SendOutcome =
  | { status: "sent" | "skipped" | "failed"; note?: string }
  | { status: "retry"; retryAt: Date; note?: string };

const toView = (e: EmailRow): EmailView => ({
  id: e.id,
  to: e.to,
  template: e.template,
  subject: e.subject,
  status: e.status,
  providerId: e.providerId,
  attempts: e.attempts,
  error: e.error,
  eventId: e.eventId,
  requestedBy: e.requestedBy,
  nextAttemptAt: e.nextAttemptAt,
  sentAt: e.sentAt,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

/** Statuses of a Resend answer that no retry can fix (bad request, auth, validation). */
const NOT_RETRIED = new Set([400, 401, 403, 404, 405, 422]);

export type EmailService = ReturnType<typeof createEmailService>;

/** Emails: queue (outbox), list, and `send`, which sends one outbox row at most once in effect. */
export function createEmailService(deps: EmailServiceDeps) {
  const { db, queue, policy } = deps;
  const log = deps.logger.child({ component: "email" });
  let warnedNoKey = false;

  return {
    /**
     * Records an email in the outbox and queues its send. `data` must fit the template (throws
     * VALIDATION_FAILED naming the bad field). `enqueued` is false when Redis is down: the relay's
     * sweep queues it later.
     */
    async queue(
      input: EmailInput,
      ctx: RequestContext = {},
    ): Promise<{ email: EmailView; enqueued: boolean }> {
      const parsed = TEMPLATE_DATA[input.template].safeParse(input.data);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new DomainError(
          "VALIDATION_FAILED",
          `data does not fit template ${input.template}: ${issue?.path.join(".") || "data"}: ${issue?.message}`,
          {
            context: {
              issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
            },
          },
        );
      }
      const row = await repo.insertEmail(db, {
        to: input.to,
        template: input.template,
        subject: input.subject ?? null,
        data: input.data,
        requestedBy: ctx.principal ? describePrincipal(ctx.principal) : null,
      });
      const enqueued = await triggerNew(queue, "email", row.id).then(
        () => true,
        () => false,
      );
      return { email: toView(row), enqueued };
    },

    /** Emails, newest first, with the total matching count. */
    async list(q: {
      limit: number;
      offset: number;
      status?: EmailStatus | undefined;
      template?: EmailTemplate | undefined;
    }) {
      const { items, total } = await repo.listEmails(db, q);
      return { items: items.map(toView), total };
    },

    /** Throws EMAIL_NOT_FOUND. */
    async get(id: string): Promise<EmailView> {
      const row = await repo.getEmail(db, id);
      if (!row) throw new DomainError("EMAIL_NOT_FOUND", `email ${id} does not exist`, { context: { id } });
      return toView(row);
    },

    /**
     * Sends one queued email through the mailer with its id as the idempotency key, so a retry after
     * a crash is dropped by Resend rather than delivered twice. Without a mailer the email is
     * recorded as skipped. Settles the row as sent, skipped, failed, or queued with a next attempt
     * time (`retry`). A duplicate job finds the row settled and does nothing. Throws only when the
     * database fails.
     */
    async send(emailId: string, now = new Date()): Promise<SendOutcome> {
      const email = await repo.getEmail(db, emailId);
      if (!email) return { status: "skipped", note: "email is gone" };
      if (email.status !== "queued") return { status: "skipped", note: `already ${email.status}` };
      if (!deps.mailer) {
        if (!warnedNoKey) {
          warnedNoKey = true;
          log.warn("RESEND_API_KEY is not set: emails are recorded as skipped, not sent");
        }
        await repo.settleEmail(db, emailId, { status: "skipped", error: "RESEND_API_KEY is not set" });
        return { status: "skipped", note: "no mailer" };
      }
      if (email.nextAttemptAt && email.nextAttemptAt.getTime() > now.getTime() + 50) {
        return { status: "retry", retryAt: email.nextAttemptAt, note: "not due yet" };
      }

      let config: Awaited<ReturnType<NodeConfigSource["configFor"]>>;
      if (email.template === "node-config") {
        const nodeId = String(email.data.nodeId ?? "");
        config = deps.nodeConfigs ? await deps.nodeConfigs.configFor(nodeId) : undefined;
        if (!config) {
          const reason = deps.nodeConfigs
            ? `node ${nodeId} is gone or has no server-held key`
            : "no node config source is configured";
          await repo.settleEmail(db, emailId, { status: "skipped", error: reason });
          return { status: "skipped", note: reason };
        }
      }
      let rendered: ReturnType<typeof renderEmail>;
      try {
        rendered = renderEmail(email.template, email.data, {
          subject: email.subject,
          ...(config ? { config } : {}),
        });
      } catch (err) {
        const reason = `cannot render template ${email.template}: ${(err as Error).message}`.slice(0, 500);
        await repo.settleEmail(db, emailId, { status: "failed", error: reason });
        return { status: "failed", note: reason };
      }

      const claimed = await repo.claimEmail(db, emailId, policy.timeoutMs + LEASE_MARGIN_MS);
      if (!claimed) {
        const current = await repo.getEmail(db, emailId);
        if (current?.status !== "queued")
          return { status: "skipped", note: `already ${current?.status ?? "gone"}` };
        return {
          status: "retry",
          retryAt: current.leasedUntil ?? new Date(Date.now() + SECOND_MS),
          note: "leased",
        };
      }
      const result = await deps.mailer.send({ from: policy.from, to: email.to, ...rendered }, emailId);
      if (result.ok) {
        await repo.settleEmail(db, emailId, {
          status: "sent",
          providerId: result.providerId,
          subject: rendered.subject,
          error: null,
          sentAt: new Date(),
          nextAttemptAt: null,
        });
        return { status: "sent" };
      }
      const retryable = result.statusCode === null || !NOT_RETRIED.has(result.statusCode);
      const error = `${result.statusCode ?? "no answer"}: ${result.message}`;
      if (retryable && claimed.attempts < policy.maxAttempts) {
        const waitMs =
          result.retryAfterMs ?? backoffMs(claimed.attempts, policy.backoffBaseMs, policy.backoffMaxMs);
        const retryAt = new Date(Date.now() + waitMs);
        await repo.settleEmail(db, emailId, { status: "queued", error, nextAttemptAt: retryAt });
        return { status: "retry", retryAt, note: error };
      }
      await repo.settleEmail(db, emailId, {
        status: "failed",
        error: retryable ? `${error} (gave up after ${claimed.attempts} attempts)` : error,
      });
      return { status: "failed", note: error };
    },
  };
}
