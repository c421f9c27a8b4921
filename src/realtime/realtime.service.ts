/**
 * The live event stream as the API serves it (SSE and WebSocket alike): which rooms a caller may
 * join, stream tokens, the `system.hello` greeting, and opening a stream that resumes after a given
 * position without a gap or a repeat.
 */
import { eq } from "drizzle-orm";
import type { Principal } from "../auth/index.js";
import type { Db } from "../db/index.js";
import { networks } from "../db/index.js";
import { DomainError } from "../errors.js";
import { EVENT_TYPES, eventsAfter, STREAM_EVENT_TYPES, streamHead } from "../events/index.js";
import type { EventHub } from "./hub.js";
import type { StreamEvent } from "./rooms.js";
import { defaultRooms, inRooms, refusal } from "./rooms.js";
import type { StreamGrant, StreamTokens } from "./stream-tokens.js";

const REPLAY_BATCH = 500;

/** What a stream offers, announced in `system.hello`. */
export const STREAM_CAPABILITIES = ["sse", "websocket", "rooms", "resume", "stream-token"] as const;

export interface RealtimeDeps {
  db: Db;
  /** The process's hub, started on first use. */
  hub(): Promise<EventHub>;
  tokens: StreamTokens;
  version: string;
  /** How often a stream sends a keepalive and checks that its caller still stands. */
  keepaliveMs: number;
}

export interface OpenStream {
  /** Rooms joined. */
  readonly rooms: ReadonlySet<string>;
  /** Joins more rooms (already authorised with `authorizeRooms`); past events of them are not replayed. */
  join(rooms: readonly string[]): void;
  close(): void;
}

export type RealtimeService = ReturnType<typeof createRealtimeService>;

export function createRealtimeService(deps: RealtimeDeps) {
  const { db } = deps;

  /**
   * The rooms `principal` joins for `requested` (its default rooms when none), lowercased and
   * without repeats. Throws VALIDATION_FAILED for a name that is no room or when nothing is named
   * and the caller has no default, FORBIDDEN for a room it may not read, NETWORK_NOT_FOUND for a
   * network that does not exist (only after the caller was found allowed, so it learns nothing).
   */
  async function authorizeRooms(principal: Principal, requested: readonly string[]): Promise<string[]> {
    const rooms = [
      ...new Set((requested.length ? requested : defaultRooms(principal)).map((r) => r.toLowerCase())),
    ];
    if (rooms.length === 0)
      throw new DomainError("VALIDATION_FAILED", "name the rooms to join: ?rooms=<network id>[,…]");
    for (const room of rooms) {
      const refused = refusal(principal, room);
      if (refused) throw new DomainError(refused.code, refused.message, { context: { room } });
    }
    for (const room of rooms) {
      if (room === "admin") continue;
      const [found] = await db.select({ id: networks.id }).from(networks).where(eq(networks.id, room));
      if (!found)
        throw new DomainError("NETWORK_NOT_FOUND", `network ${room} does not exist`, {
          context: { id: room },
        });
    }
    return rooms;
  }

  return {
    authorizeRooms,
    keepaliveMs: deps.keepaliveMs,

    /**
     * A stream token joining `room` as `principal` (see stream-tokens.ts). Throws what
     * `authorizeRooms` throws.
     */
    async issueToken(
      principal: Principal,
      room: string,
    ): Promise<{ token: string; expiresAt: Date; room: string }> {
      const [allowed] = await authorizeRooms(principal, [room]);
      const issued = await deps.tokens.issue({ principal, room: allowed! });
      return { ...issued, room: allowed! };
    },

    /** The grant of a stream token. Throws UNAUTHENTICATED for an unknown or expired one. */
    async redeemToken(token: string): Promise<StreamGrant> {
      const grant = await deps.tokens.redeem(token);
      if (!grant)
        throw new DomainError("UNAUTHENTICATED", "the stream token is unknown or expired; ask for a new one");
      return grant;
    },

    /** The first message of every stream. */
    hello(rooms: readonly string[]) {
      return {
        type: "system.hello",
        data: {
          version: deps.version,
          capabilities: STREAM_CAPABILITIES,
          eventTypes: [...EVENT_TYPES, ...STREAM_EVENT_TYPES],
          rooms,
        },
      };
    },

    /**
     * Streams the events of `rooms` to `send`, in stream order, each once: first those after `since`
     * still in the outbox (all of them when `since` is ahead of the stream), then live ones. Without
     * `since`, live ones only. Resolves once the replay is sent. Throws what the database throws.
     */
    async open(
      rooms: readonly string[],
      since: number | undefined,
      send: (event: StreamEvent) => void,
    ): Promise<OpenStream> {
      const hub = await deps.hub();
      const joined = new Set(rooms);
      let cursor = 0;
      let buffered: StreamEvent[] | undefined = [];
      const deliver = (events: readonly StreamEvent[]) => {
        for (const event of events) {
          // IMPORTANT: replayed rows and the hub's batches overlap; the cursor sends each only once.
          if (event.seq <= cursor) continue;
          cursor = event.seq;
          if (inRooms(event, joined)) send(event);
        }
      };
      // Watch before reading the replay: an event the hub hands out meanwhile waits in the buffer.
      const unwatch = hub.watch((events) => (buffered ? buffered.push(...events) : deliver(events)));
      try {
        if (since === undefined) cursor = hub.head();
        else {
          cursor = Math.min(since, await streamHead(db));
          for (;;) {
            const rows = await eventsAfter(db, cursor, REPLAY_BATCH);
            deliver(rows);
            if (rows.length < REPLAY_BATCH) break;
          }
        }
        const held = buffered;
        buffered = undefined;
        deliver(held);
      } catch (err) {
        unwatch();
        throw err;
      }
      return {
        rooms: joined,
        join: (more) => {
          for (const room of more) joined.add(room);
        },
        close: unwatch,
      };
    },
  };
}
