/**
 * The mail port and its Resend adapter. The adapter sends one message with the `Idempotency-Key` it
 * is given (the outbox id), so Resend drops a repeated send for 24 hours; it never logs, and its
 * errors never contain the API key.
 */
import { Resend } from "resend";

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  attachments: { filename: string; content: Buffer; contentType: string; contentId?: string }[];
}

export type MailResult =
  | { ok: true; providerId: string }
  | {
      ok: false;
      /** HTTP status, or null when the provider could not be reached. */
      statusCode: number | null;
      message: string;
      /** What the provider asked us to wait (429), in ms. */
      retryAfterMs?: number;
    };

/** Sends one email. Never throws for a provider answer: failures come back as `ok: false`. */
export interface Mailer {
  send(message: MailMessage, idempotencyKey: string): Promise<MailResult>;
}

export interface ResendOptions {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
}

/** Seconds to wait from Resend's `retry-after` or `ratelimit-reset` headers, in ms. */
function waitFrom(headers: Record<string, string> | null): number | undefined {
  if (!headers) return undefined;
  for (const name of ["retry-after", "ratelimit-reset"]) {
    const seconds = Number(headers[name]);
    if (headers[name] !== undefined && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  }
  return undefined;
}

/** A `Mailer` on the official Resend SDK, pointed at `baseUrl` (a local stand-in in tests). */
export function createResendMailer(options: ResendOptions): Mailer {
  const resend = new Resend(options.apiKey, { baseUrl: options.baseUrl.replace(/\/+$/, "") });
  return {
    async send(message, idempotencyKey) {
      const { data, error, headers } = await resend.emails.send(
        {
          from: message.from,
          to: message.to,
          subject: message.subject,
          html: message.html,
          text: message.text,
          attachments: message.attachments.map((a) => ({
            filename: a.filename,
            content: a.content,
            contentType: a.contentType,
            ...(a.contentId ? { contentId: a.contentId } : {}),
          })),
        },
        { idempotencyKey, signal: AbortSignal.timeout(options.timeoutMs) } as { idempotencyKey: string },
      );
      if (data?.id) return { ok: true, providerId: data.id };
      const statusCode = (error as { statusCode?: number | null } | null)?.statusCode ?? null;
      const wait = waitFrom(headers ?? null);
      return {
        ok: false,
        statusCode,
        message: `${error?.name ?? "error"}: ${error?.message ?? "no answer"}`.slice(0, 500),
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
      };
    },
  };
}
