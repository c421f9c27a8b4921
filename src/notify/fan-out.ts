/**
 * Which webhooks and which emails an event goes to. Pure: the relay calls these inside its
 * transaction, with the webhooks it loaded and the alert recipients from config.
 */
import type { EmailTemplate } from "../db/index.js";
import { ALL_EVENTS, isStreamOnly } from "../events/index.js";

export interface Subscriber {
  id: string;
  enabled: boolean;
  events: readonly string[];
  scope: string;
}

export interface RoutedEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface PlannedEmail {
  to: string;
  template: EmailTemplate;
  data: Record<string, unknown>;
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The network an event is about, when it names one: `network.id`, `node.networkId`, `networkId`, or
 * `run.networkId` (a network's sync run, as `runEventData` in src/sync writes it).
 */
export function networkOf(event: RoutedEvent): string | undefined {
  const d = event.data;
  return (
    str(obj(d.network).id) ?? str(obj(d.node).networkId) ?? str(d.networkId) ?? str(obj(d.run).networkId)
  );
}

/** Scope strings: `global`, or `network:<uuid>` for one network's events. */
export const SCOPE_PATTERN =
  /^(global|network:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * True when `webhook` should receive `event`: it is enabled, its `events` list names the type (or
 * `*`), and its scope is global or the network the event is about.
 */
export function webhookMatches(webhook: Subscriber, event: RoutedEvent): boolean {
  if (!webhook.enabled || isStreamOnly(event.type)) return false;
  if (!webhook.events.includes(ALL_EVENTS) && !webhook.events.includes(event.type)) return false;
  if (webhook.scope === "global") return true;
  return webhook.scope === `network:${networkOf(event) ?? ""}`;
}

/**
 * The emails an event causes:
 * - `node.enrolled` with `node.email` and `node.hasServerKey: true` → `node-config` to that address;
 * - `node.updated` that reissues a server-held node's config (`newConfig: true`: its key or its hub's
 *   key rotated), with `node.email` → the new `node-config` to that address;
 * - `node.offline` → `node-offline` to `node.email` and to every alert recipient;
 * - `node.quota-warning`, `node.quota-exceeded` → `node-quota` to `node.email` and every alert recipient;
 * - `sync.failed` → `sync-failed` to every alert recipient;
 * - `hub.takeover` → `hub-takeover` to every alert recipient.
 * One email per recipient and template.
 */
export function emailsForEvent(
  event: RoutedEvent,
  options: { alertRecipients: readonly string[] },
): PlannedEmail[] {
  const node = obj(event.data.node);
  const nodeEmail = str(node.email);
  const out: PlannedEmail[] = [];
  switch (event.type) {
    case "node.enrolled":
      if (nodeEmail && node.hasServerKey === true && str(node.id)) {
        out.push({ to: nodeEmail, template: "node-config", data: { nodeId: node.id } });
      }
      break;
    case "node.updated":
      if (event.data.newConfig === true && nodeEmail && node.hasServerKey === true && str(node.id)) {
        out.push({ to: nodeEmail, template: "node-config", data: { nodeId: node.id } });
      }
      break;
    case "node.offline":
      if (str(node.name) && str(node.id)) {
        for (const to of [...(nodeEmail ? [nodeEmail] : []), ...options.alertRecipients]) {
          out.push({ to, template: "node-offline", data: event.data });
        }
      }
      break;
    case "node.quota-warning":
    case "node.quota-exceeded":
      if (str(node.name) && str(node.id)) {
        for (const to of [...(nodeEmail ? [nodeEmail] : []), ...options.alertRecipients]) {
          out.push({ to, template: "node-quota", data: event.data });
        }
      }
      break;
    case "sync.failed":
      if (str(obj(event.data.run).id)) {
        for (const to of options.alertRecipients) out.push({ to, template: "sync-failed", data: event.data });
      }
      break;
    case "hub.takeover":
      if (str(obj(event.data.network).name)) {
        for (const to of options.alertRecipients)
          out.push({ to, template: "hub-takeover", data: event.data });
      }
      break;
  }
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.template} ${e.to.toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: exponential from `baseMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so retries of many deliveries spread out.
 * `random` is injectable for tests.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * How long a 429 asks us to wait, in ms: Discord's JSON `retry_after` (seconds, float), its
 * `X-RateLimit-Reset-After` header (seconds), or `Retry-After` (seconds or an HTTP date).
 * Undefined when the answer names no wait.
 */
export function retryAfterMs(
  headers: Record<string, string>,
  body: string,
  nowMs: number,
): number | undefined {
  const candidates: number[] = [];
  try {
    const parsed = JSON.parse(body) as { retry_after?: unknown };
    if (typeof parsed.retry_after === "number" && parsed.retry_after >= 0)
      candidates.push(parsed.retry_after * 1000);
  } catch {
    // not JSON: rely on the headers
  }
  const resetAfter = Number(headers["x-ratelimit-reset-after"]);
  if (headers["x-ratelimit-reset-after"] !== undefined && Number.isFinite(resetAfter))
    candidates.push(resetAfter * 1000);
  const retryAfter = headers["retry-after"];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) candidates.push(seconds * 1000);
    else if (!Number.isNaN(Date.parse(retryAfter)))
      candidates.push(Math.max(0, Date.parse(retryAfter) - nowMs));
  }
  return candidates.length > 0 ? Math.ceil(Math.max(...candidates)) : undefined;
}
