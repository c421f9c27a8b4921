/**
 * Who may join which room of the live event stream, and which events each room carries. Pure.
 *
 * Rooms: `admin` carries every event and is for the `admin` scope only; a network's id carries the
 * events about that network, for callers who may read it: users and API keys with the `read` or
 * `admin` scope, and a node's own token for its own network only.
 */
import type { Principal } from "../auth/index.js";
import { isAdmin } from "../auth/index.js";
import { networkOf } from "../notify/index.js";

export const ADMIN_ROOM = "admin";

export interface StreamEvent {
  /** Stream position, the SSE `id` and what a client resumes after. */
  seq: number;
  /** The outbox row's id. */
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export type RoomRefusal =
  | { code: "FORBIDDEN"; room: string; message: string }
  | { code: "VALIDATION_FAILED"; room: string; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `room` names a room at all: `admin` or a network id (any case, compared lowercased). */
export function isRoomName(room: string): boolean {
  return room === ADMIN_ROOM || UUID.test(room);
}

/**
 * Why `principal` may not join `room`, or undefined when it may. Whether a named network exists is
 * the caller's to check (a refusal here must not depend on it, so it reveals nothing).
 */
export function refusal(principal: Principal, room: string): RoomRefusal | undefined {
  if (!isRoomName(room))
    return {
      code: "VALIDATION_FAILED",
      room,
      message: `room ${JSON.stringify(room)} is neither "admin" nor a network id`,
    };
  if (room === ADMIN_ROOM)
    return isAdmin(principal)
      ? undefined
      : { code: "FORBIDDEN", room, message: "the admin room needs an admin" };
  if (principal.kind === "node")
    return principal.networkId === room.toLowerCase()
      ? undefined
      : { code: "FORBIDDEN", room, message: "a node's token reaches only its own network's room" };
  const readable = principal.scopes.includes("read") || principal.scopes.includes("admin");
  return readable ? undefined : { code: "FORBIDDEN", room, message: "this key may not read networks" };
}

/** The rooms a caller joins when it names none: `admin` for admins, its network for a node. */
export function defaultRooms(principal: Principal): string[] {
  if (principal.kind === "node") return [principal.networkId];
  return isAdmin(principal) ? [ADMIN_ROOM] : [];
}

/** True when an event belongs in one of `rooms`. */
export function inRooms(event: Pick<StreamEvent, "type" | "data">, rooms: ReadonlySet<string>): boolean {
  if (rooms.has(ADMIN_ROOM)) return true;
  const network = networkOf(event);
  return network !== undefined && rooms.has(network);
}

/** Keys of personal data a node's token does not see of other members (their owners' emails). */
const PERSONAL_KEY = /^(email|to|recipients?)$/i;

/**
 * An event as `principal` receives it. Secrets never reach the outbox (src/events/sanitize.ts); this
 * also keeps members' emails from a node's token, which may not read other nodes through the API.
 */
export function viewFor(principal: Principal, event: StreamEvent): Record<string, unknown> {
  const data = principal.kind === "node" ? withoutKeys(event.data, PERSONAL_KEY) : event.data;
  return {
    id: String(event.seq),
    eventId: event.id,
    type: event.type,
    at: event.createdAt.toISOString(),
    data,
  };
}

function withoutKeys(value: Record<string, unknown>, key: RegExp): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !key.test(k))
        .map(([k, inner]) => [k, walk(inner)]),
    );
  };
  return walk(value) as Record<string, unknown>;
}
