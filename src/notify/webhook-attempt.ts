/**
 * The webhook delivery policy and how one HTTP attempt is judged (pure): delivered, retried with
 * backoff, rate-limited, failed, or refused, and whether it counts toward the webhook's failure streak.
 */
import { backoffMs, retryAfterMs } from "./fan-out.js";
import type { HttpOutcome } from "./safe-http.js";

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
