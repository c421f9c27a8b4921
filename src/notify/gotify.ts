/**
 * Gotify messages: `POST <server>/message` with the application token in `X-Gotify-Key` and
 * `{ title, message, priority, extras }`, the priority taken from the event's outcome. Pure.
 */
import type { EventOutcome } from "../events/index.js";
import { outcomeOf } from "../events/index.js";
import type { EventMessage } from "./discord.js";
import { descriptionOf, flatten, titleOf, truncate } from "./discord.js";

/** The header Gotify reads an application token from. */
export const GOTIFY_TOKEN_HEADER = "X-Gotify-Key";

/**
 * Priority by outcome. Gotify's apps: 8 and up pops up with sound, 4–7 notifies with sound, 1–3
 * notifies silently, 0 does not notify.
 */
export const GOTIFY_PRIORITIES: Record<EventOutcome, number> = {
  failure: 8,
  warning: 5,
  success: 3,
  info: 1,
};

const TITLE_MAX = 250;
const MESSAGE_MAX = 4_000;

export interface GotifyMessage {
  title: string;
  message: string;
  priority: number;
  extras: {
    "client::display": { contentType: "text/plain" };
    /** Lets a receiver de-duplicate: every retry of one delivery carries the same `deliveryId`. */
    "wiresync::event": { id: string; type: string; deliveryId: string };
  };
}

/** `<server>/message`: the server URL as given (with any path prefix), without a trailing slash. */
export function gotifyMessageUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/message`;
  return url.toString();
}

/**
 * The Gotify message of an event: the title every channel shows, then its prose and one
 * `key: value` line per field of its data, as plain text cut to 4,000 characters.
 */
export function buildGotifyMessage(event: EventMessage, deliveryId: string): GotifyMessage {
  const prose = descriptionOf(event);
  const lines = flatten(event.data).map(([k, v]) => `${k}: ${v}`);
  const message = [...(prose ? [prose, ""] : []), ...lines].join("\n") || event.type;
  return {
    title: truncate(titleOf(event), TITLE_MAX),
    message: truncate(message, MESSAGE_MAX),
    priority: GOTIFY_PRIORITIES[outcomeOf(event.type, event.data)],
    extras: {
      "client::display": { contentType: "text/plain" },
      "wiresync::event": { id: event.id, type: event.type, deliveryId },
    },
  };
}
