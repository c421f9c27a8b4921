import { sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { events, placeholderQuery } from "../db/index.js";
import { sanitizeEventData } from "./sanitize.js";
import type { EventType, StreamEventType } from "./types.js";

/**
 * The Postgres channel the relay listens on. The `events_notify` trigger (migration 0004) notifies it
 * for every statement that inserts events; Postgres delivers the notice only when the transaction
 * commits. Keep the name in step with that migration.
 */
export const OUTBOX_CHANNEL = "wiresync_outbox";

export interface NewEvent<T extends string = EventType | StreamEventType> {
  type: T;
  data: Record<string, unknown>;
}

export interface EmitOptions {
  /** Who caused the event (`system` by default); names a principal, never a credential. */
  source?: string;
}

export interface EmittedEvent {
  id: string;
  type: string;
  /** Dotted paths of secret-named keys that were dropped from `data` (should be empty). */
  dropped: string[];
}

/**
 * Writes a domain event to the outbox with the executor given: pass the transaction of the change
 * that causes it, so the event exists exactly when the change does. Keys that name a secret are
 * dropped (see `sanitizeEventData`). The insert's trigger queues a NOTIFY on `OUTBOX_CHANNEL`, which
 * Postgres sends on commit, so a listening relay moves the event at once; the relay's timer covers a
 * lost notice. One statement, one round trip.
 * Throws only what the database throws.
 */
export async function emitEvent(
  exec: Executor,
  event: NewEvent,
  options: EmitOptions = {},
): Promise<EmittedEvent> {
  return insertEvent(exec, event, options);
}

const insertEventRow = placeholderQuery<
  { type: string; data: Record<string, unknown>; source: string },
  { id: string }
>((exec) =>
  exec
    .insert(events)
    .values({
      type: sql.placeholder("type"),
      data: sql.placeholder("data"),
      source: sql.placeholder("source"),
    })
    .returning({ id: events.id }),
);

/**
 * The outbox row of `event` as `emitEvent` writes it (secret-named keys dropped), for a statement that
 * writes it together with the change it reports; the insert's trigger notifies the relay as usual.
 */
export function eventRow(
  event: NewEvent,
  options: EmitOptions = {},
): { type: string; data: Record<string, unknown>; source: string } {
  return { type: event.type, data: sanitizeEventData(event.data).data, source: options.source ?? "system" };
}

/**
 * `emitEvent` for names outside `EventType` (custom events from the dispatch API, internal ones).
 * Callers validate the name first.
 */
export async function insertEvent(
  exec: Executor,
  event: NewEvent<string>,
  options: EmitOptions = {},
): Promise<EmittedEvent> {
  const { data, dropped } = sanitizeEventData(event.data);
  const [row] = await insertEventRow(exec, { type: event.type, data, source: options.source ?? "system" });
  return { id: row!.id, type: event.type, dropped };
}
