/**
 * One hub per API process: it numbers committed outbox events for the stream (`sequencePending`),
 * reads the new ones from Postgres in stream order and hands them to this process's open streams.
 *
 * Across processes it goes through Redis: a process that numbered events publishes a notice on
 * `<prefix>:events-sequenced` and every process's hub reads what is new. Postgres stays the truth,
 * the notice is a trigger: a lost one is covered by the Postgres NOTIFY each outbox insert sends on
 * commit and by a poll every `pollIntervalMs`.
 */
import type { Db } from "../db/index.js";
import { eventsAfter, OUTBOX_CHANNEL, sequencePending, streamHead } from "../events/index.js";
import type { Logger } from "../logger.js";
import type { Redis } from "../queue/index.js";
import type { StreamEvent } from "./rooms.js";

const BATCH = 500;

export const sequencedChannel = (prefix: string) => `${prefix}:events-sequenced`;

export interface EventHubDeps {
  db: Db;
  /** Publishes the notice (the platform's producer connection). */
  publisher: Redis;
  /** A connection of the hub's own, in subscriber mode; the hub disconnects it on close. */
  subscriber: Redis;
  prefix: string;
  /** `Database.listen`: Postgres NOTIFY on the outbox channel. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  pollIntervalMs: number;
  logger: Logger;
}

export type EventListener = (events: readonly StreamEvent[]) => void;

export interface EventHub {
  /** The stream position this process has handed out up to. */
  head(): number;
  /**
   * Calls `listener` with each batch of new events, in stream order, synchronously after `head()`
   * moved past them. Returns the function that stops it.
   */
  watch(listener: EventListener): () => void;
  close(): Promise<void>;
}

/** Starts a hub at the current stream head: only events numbered from now on are handed out. */
export async function startEventHub(deps: EventHubDeps): Promise<EventHub> {
  const { db, publisher, subscriber, prefix, logger } = deps;
  const channel = sequencedChannel(prefix);
  const listeners = new Set<EventListener>();
  let last = await streamHead(db);
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  async function drain(): Promise<void> {
    do {
      again = false;
      const numbered = await sequencePending(db, BATCH);
      if (numbered > 0) await publisher.publish(channel, String(numbered));
      if (numbered === BATCH) again = true;
      for (;;) {
        const rows = await eventsAfter(db, last, BATCH);
        if (rows.length === 0) break;
        last = rows.at(-1)!.seq;
        for (const listener of listeners) {
          try {
            listener(rows);
          } catch (err) {
            // One broken stream must not keep the others from their events.
            logger.warn({ err }, "event stream listener failed");
          }
        }
        if (rows.length < BATCH) break;
      }
    } while (again && !closed);
  }

  /** Runs `drain` once at a time; a poke while it runs makes it go round again. */
  function poke(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => logger.warn({ err }, "event stream read failed; retrying on the next poll"))
      .finally(() => {
        running = undefined;
        // A poke that came after the last round's check.
        if (again) poke();
      });
  }

  subscriber.on("message", (from: string) => {
    if (from === channel) poke();
  });
  // ioredis subscribes again by itself after a reconnect.
  await subscriber.subscribe(channel);
  const unlisten = await deps.listen(OUTBOX_CHANNEL, poke);
  const timer = setInterval(poke, deps.pollIntervalMs);
  timer.unref();
  poke();

  return {
    head: () => last,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      listeners.clear();
      subscriber.disconnect();
      await unlisten().catch(() => {});
      await running;
    },
  };
}
