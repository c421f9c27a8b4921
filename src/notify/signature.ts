/**
 * Generic webhook bodies and their signatures. A receiver verifies
 * `X-Wiresync-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with the
 * `X-Wiresync-Timestamp` header (unix seconds) and rejects old timestamps to stop replays. Pure.
 */
import { createHmac, randomBytes } from "node:crypto";
import { safeEqual } from "../crypto/index.js";
import type { EventMessage } from "./discord.js";

export const SIGNATURE_HEADER = "X-Wiresync-Signature";
export const TIMESTAMP_HEADER = "X-Wiresync-Timestamp";
export const EVENT_HEADER = "X-Wiresync-Event";
export const DELIVERY_HEADER = "X-Wiresync-Delivery";
const SIGNATURE_VERSION = "v1";
/** Receivers should refuse signatures older than this. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/** A new signing secret: `whsec_` and 32 random bytes, base64url. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/** The JSON body of a generic delivery: the event as it was recorded, with the delivery id. */
export function buildGenericBody(event: EventMessage, deliveryId: string): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    created_at: event.createdAt.toISOString(),
    delivery_id: deliveryId,
    data: event.data,
  });
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `${SIGNATURE_VERSION}=${mac}`;
}

/** The headers of a signed generic delivery. */
export function signedHeaders(
  secret: string,
  body: string,
  meta: { eventType: string; deliveryId: string; nowSeconds: number },
): Record<string, string> {
  return {
    "Content-Type": "application/json",
    [TIMESTAMP_HEADER]: String(meta.nowSeconds),
    [SIGNATURE_HEADER]: signPayload(secret, meta.nowSeconds, body),
    [EVENT_HEADER]: meta.eventType,
    [DELIVERY_HEADER]: meta.deliveryId,
  };
}

/**
 * True when `signature` is a valid v1 signature of `body` at `timestampSeconds` and the timestamp is
 * within `toleranceSeconds` of `nowSeconds`. Compares in constant time.
 */
export function verifySignature(
  secret: string,
  input: { timestamp: string; signature: string; body: string },
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const ts = Number(input.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  return safeEqual(signPayload(secret, ts, input.body), input.signature);
}
