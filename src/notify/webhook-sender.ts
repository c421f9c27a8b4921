/**
 * The glue between a webhook row and the wire: URL checks through the SSRF guard, sealing and
 * opening the URL and signing secret or Gotify token (each bound to its webhook by AAD), and one send
 * of an event as Discord embeds, a Gotify message or a signed generic JSON body. It never retries
 * and never records anything.
 */
import type { SecretBox } from "../crypto/index.js";
import { DomainError } from "../errors.js";
import type { EventMessage } from "./discord.js";
import { buildDiscordPayload } from "./discord.js";
import { buildGotifyMessage, GOTIFY_TOKEN_HEADER, gotifyMessageUrl } from "./gotify.js";
import type { WebhookRow } from "./notify.repo.js";
import type { HttpOutcome, Resolver } from "./safe-http.js";
import { parseWebhookUrl, resolveSafely, safePost, UrlRefusedError } from "./safe-http.js";
import { buildGenericBody, signedHeaders } from "./signature.js";
import type { WebhookPolicy } from "./webhook-attempt.js";

const SECOND_MS = 1_000;

const urlAad = (id: string) => `webhook:${id}:url`;
const secretAad = (id: string) => `webhook:${id}:secret`;

export type WebhookSender = ReturnType<typeof createWebhookSender>;

/** The sender of one webhook service; `send` never throws for a receiver's or a key's fault. */
export function createWebhookSender(deps: {
  box: SecretBox;
  policy: Pick<WebhookPolicy, "allowPrivate" | "timeoutMs">;
  resolver?: Resolver | undefined;
}) {
  const { box, policy } = deps;
  const http = { allowPrivate: policy.allowPrivate, timeoutMs: policy.timeoutMs, resolver: deps.resolver };

  /** The request of one delivery: Discord embeds, a Gotify message, or a signed JSON body. */
  function requestFor(webhook: WebhookRow, event: EventMessage, deliveryId: string) {
    if (webhook.type === "DISCORD") {
      return {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(buildDiscordPayload(event)),
      };
    }
    if (webhook.type === "GOTIFY") {
      // The application token is sealed where a signing secret would be (same AAD, same row).
      const token = box.open(webhook.secretEnc, secretAad(webhook.id));
      return {
        headers: { "Content-Type": "application/json", [GOTIFY_TOKEN_HEADER]: token },
        body: JSON.stringify(buildGotifyMessage(event, deliveryId)),
      };
    }
    const body = buildGenericBody(event, deliveryId);
    const secret = box.open(webhook.secretEnc, secretAad(webhook.id));
    const nowSeconds = Math.floor(Date.now() / SECOND_MS);
    return { headers: signedHeaders(secret, body, { eventType: event.type, deliveryId, nowSeconds }), body };
  }

  return {
    /** The normalised URL, or WEBHOOK_URL_REFUSED when it is not https or reaches an internal address. */
    async checkUrl(raw: string): Promise<string> {
      try {
        const url = parseWebhookUrl(raw, policy.allowPrivate);
        await resolveSafely(url, http);
        return url.toString();
      } catch (err) {
        if (err instanceof UrlRefusedError) throw new DomainError("WEBHOOK_URL_REFUSED", err.message);
        throw err;
      }
    },

    /** The webhook's URL sealed for storage. */
    sealUrl: (id: string, url: string) => box.seal(url, urlAad(id)),

    /** The webhook's signing secret (a Gotify webhook's application token) sealed for storage. */
    sealSecret: (id: string, secret: string) => box.seal(secret, secretAad(id)),

    /** Sends one delivery of `event` to `webhook` once; never throws for the receiver's faults. */
    async send(webhook: WebhookRow, event: EventMessage, deliveryId: string): Promise<HttpOutcome> {
      let url: string;
      let request: { headers: Record<string, string>; body: string };
      try {
        const stored = box.open(webhook.urlEnc, urlAad(webhook.id));
        url = webhook.type === "GOTIFY" ? gotifyMessageUrl(stored) : stored;
        request = requestFor(webhook, event, deliveryId);
      } catch (err) {
        // A key missing from ENCRYPTION_KEYS_PREVIOUS: no retry can fix it, so never send and say why.
        return {
          kind: "error",
          refused: true,
          error: `cannot open the webhook's URL, secret or token: ${(err as Error).message}`,
          durationMs: 0,
        };
      }
      return safePost(url, request, http);
    },
  };
}
