import { z } from "zod";

/** The domain events wiresync emits. Webhooks subscribe to these names (or `*`). */
export const EVENT_TYPES = [
  "node.enrolled",
  "node.updated",
  "node.removed",
  "node.online",
  "node.offline",
  "node.quota-warning",
  "node.quota-exceeded",
  "node.degraded",
  "node.flapping",
  "sync.started",
  "sync.completed",
  "sync.failed",
  "drift.detected",
  "hub.takeover",
  "network.hub-key-rotated",
  "webhook.disabled",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Events for the live stream only (src/realtime): recorded in the outbox like the others, so a
 * reconnecting client gets them too, but never relayed to webhooks or emails (progress would flood
 * them, and a failed delivery reported to the failing webhook would never end).
 */
export const STREAM_EVENT_TYPES = [
  "sync.progress",
  "delivery.failed",
  "reseal.progress",
  "reseal.completed",
] as const;
export type StreamEventType = (typeof STREAM_EVENT_TYPES)[number];

/** True for the events that go to the live stream only. */
export function isStreamOnly(type: string): boolean {
  return (STREAM_EVENT_TYPES as readonly string[]).includes(type);
}

/** Sent only by the admin "test" button, straight to one webhook; never relayed. */
export const TEST_EVENT_TYPE = "webhook.test";

/** Subscribes a webhook to every event, domain or custom. */
export const ALL_EVENTS = "*";

/** How a custom event is spelled: lowercase words joined by dots, e.g. `deploy.finished`. */
export const CustomEventName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/, "must be lowercase words joined by dots, e.g. deploy.finished")
  .refine((v) => !isReservedEventName(v), {
    message: "is a wiresync event name; custom events must use a name of their own",
  });

/** A name a webhook may subscribe to: a domain event, a custom event or `*`. */
export const SubscribableEventName = z.union([
  z.literal(ALL_EVENTS),
  z.enum(EVENT_TYPES),
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/, "must be `*`, an event type or a custom event name"),
]);

/** True for domain event names and the names wiresync keeps for itself (`webhook.*`). */
export function isReservedEventName(name: string): boolean {
  return (
    (EVENT_TYPES as readonly string[]).includes(name) || isStreamOnly(name) || name.startsWith("webhook.")
  );
}

/** The outcome an event reports, which decides its colour in Discord. */
export type EventOutcome = "success" | "failure" | "warning" | "info";

const OUTCOMES: Record<EventType, EventOutcome> = {
  "node.enrolled": "success",
  "node.updated": "info",
  "node.removed": "info",
  "node.online": "success",
  "node.offline": "warning",
  "node.quota-warning": "warning",
  "node.quota-exceeded": "failure",
  "node.degraded": "warning",
  "node.flapping": "warning",
  "sync.started": "info",
  "sync.completed": "success",
  "sync.failed": "failure",
  "drift.detected": "warning",
  "hub.takeover": "warning",
  "network.hub-key-rotated": "info",
  "webhook.disabled": "failure",
};

/**
 * The outcome of an event: fixed for domain events; custom events may say theirs in `data.outcome`
 * (`success`, `failure`, `warning`, `info`), otherwise `info`.
 */
export function outcomeOf(type: string, data: Record<string, unknown>): EventOutcome {
  if (type in OUTCOMES) return OUTCOMES[type as EventType];
  const declared = data.outcome;
  return declared === "success" || declared === "failure" || declared === "warning" ? declared : "info";
}
