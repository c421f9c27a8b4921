/**
 * Discord webhook payloads: one embed per event, coloured by outcome, with the event's data as fields
 * and its time as the timestamp, always inside Discord's limits. Pure.
 */
import type { EventOutcome } from "../events/index.js";
import { outcomeOf } from "../events/index.js";

/** Discord's documented limits for webhook messages. */
export const DISCORD_LIMITS = {
  content: 2_000,
  embeds: 10,
  embedTotal: 6_000,
  title: 256,
  description: 4_096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1_024,
  footerText: 2_048,
  authorName: 256,
  username: 80,
} as const;

/** Colours by outcome: green, red, amber, blurple. */
export const DISCORD_COLOURS: Record<EventOutcome, number> = {
  success: 0x2ecc71,
  failure: 0xe74c3c,
  warning: 0xf1c40f,
  info: 0x5865f2,
};

/** Keys of custom event data that fill the title and description rather than fields. */
const PROSE_KEYS = new Set(["title", "message", "description", "outcome"]);
/** The description gets at most this much, so that fields keep room in the 6,000-character budget. */
const DESCRIPTION_BUDGET = 2_000;
const INLINE_MAX = 40;
const ELLIPSIS = "…";

export interface DiscordField {
  name: string;
  value: string;
  inline: boolean;
}

export interface DiscordEmbed {
  title: string;
  description?: string;
  color: number;
  fields: DiscordField[];
  timestamp: string;
  footer: { text: string };
}

export interface DiscordPayload {
  username: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: never[] };
}

export interface EventMessage {
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Cuts `text` to at most `max` characters (code points), ending with `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join("") + ELLIPSIS;
}

/** Characters Discord counts toward the 6,000 budget of one embed. */
export function embedLength(embed: DiscordEmbed): number {
  const len = (s: string | undefined) => (s ? Array.from(s).length : 0);
  return (
    len(embed.title) +
    len(embed.description) +
    len(embed.footer.text) +
    embed.fields.reduce((n, f) => n + len(f.name) + len(f.value), 0)
  );
}

/**
 * The Discord message for an event: a title naming what happened, a description (an error, a
 * message), up to 25 fields flattened from `data`, the colour of its outcome, its timestamp and a
 * footer with its type and id. Every text is cut to its limit and the whole embed to 6,000
 * characters, however large the input. Mentions are disabled, so data can never ping anyone.
 */
export function buildDiscordPayload(
  event: EventMessage,
  options: { username?: string } = {},
): DiscordPayload {
  const footer = truncate(`wiresync · ${event.type} · ${event.id}`, DISCORD_LIMITS.footerText);
  const title = truncate(titleOf(event), DISCORD_LIMITS.title);
  let budget = DISCORD_LIMITS.embedTotal - Array.from(title).length - Array.from(footer).length;

  const prose = descriptionOf(event);
  const description = prose
    ? truncate(prose, Math.min(DISCORD_LIMITS.description, DESCRIPTION_BUDGET, budget))
    : undefined;
  budget -= description ? Array.from(description).length : 0;

  const fields: DiscordField[] = [];
  for (const [path, raw] of flatten(event.data)) {
    if (fields.length >= DISCORD_LIMITS.fields) break;
    const name = truncate(path, Math.min(DISCORD_LIMITS.fieldName, 64));
    const room = budget - Array.from(name).length;
    if (room < 16) break;
    const value = truncate(raw === "" ? "—" : raw, Math.min(DISCORD_LIMITS.fieldValue, room));
    fields.push({ name, value, inline: Array.from(value).length <= INLINE_MAX });
    budget -= Array.from(name).length + Array.from(value).length;
  }

  return {
    username: truncate(options.username ?? "wiresync", DISCORD_LIMITS.username),
    embeds: [
      {
        title,
        ...(description ? { description } : {}),
        color: DISCORD_COLOURS[outcomeOf(event.type, event.data)],
        fields,
        timestamp: event.createdAt.toISOString(),
        footer: { text: footer },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A one-line title naming what happened (shared by every channel that shows a title). */
export function titleOf(event: EventMessage): string {
  const d = event.data;
  const node = str(obj(d.node).name) ?? str(obj(d.node).id) ?? "";
  const run = obj(d.run);
  const runType = str(run.type) ?? "";
  const webhook = str(obj(d.webhook).name) ?? "";
  switch (event.type) {
    case "node.enrolled":
      return `Node enrolled: ${node}`;
    case "node.updated":
      return `Node updated: ${node}`;
    case "node.removed":
      return `Node removed: ${node}`;
    case "node.online":
      return `Node online: ${node}`;
    case "node.offline":
      return `Node offline: ${node}`;
    case "node.quota-warning":
      return `Node at 80 % of its quota: ${node}`;
    case "node.quota-exceeded":
      return `Node over its quota${d.disabled === true ? ", disabled" : ""}: ${node}`;
    case "sync.started":
      return `Sync started (${runType})`;
    case "sync.completed":
      return `Sync completed (${runType})`;
    case "sync.failed":
      return `Sync failed (${runType})`;
    case "drift.detected":
      return `Drift detected${str(obj(d.network).name) ? `: ${str(obj(d.network).name)}` : ""}`;
    case "hub.takeover":
      return `Hub takeover: ${str(obj(d.network).name) ?? ""} now served by ${str(d.to) ?? ""} (was ${str(d.from) ?? ""})`;
    case "network.hub-key-rotated":
      return `Hub key rotated: ${str(obj(d.network).name) ?? ""}`;
    case "webhook.disabled":
      return `Webhook disabled: ${webhook}`;
    case "webhook.test":
      return "Test event from wiresync";
    default:
      return str(d.title) ?? event.type;
  }
}

/** The event's prose (a message, an error, a reason), when it has any. */
export function descriptionOf(event: EventMessage): string | undefined {
  const d = event.data;
  return (
    str(d.message) ??
    str(d.description) ??
    str(obj(d.run).error) ??
    str(d.reason) ??
    str(d.error) ??
    (event.type === "webhook.test" ? "If you can read this, the webhook works." : undefined)
  );
}

/** `[dotted path, text]` for every scalar in `data` (arrays of scalars joined), prose keys left out. */
export function flatten(data: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const walk = (value: unknown, path: string, depth: number) => {
    if (value === undefined) return;
    if (value === null) out.push([path, "—"]);
    else if (typeof value === "string") out.push([path, value]);
    else if (typeof value === "number" || typeof value === "boolean") out.push([path, String(value)]);
    else if (Array.isArray(value)) {
      const scalars = value.every((v) => v === null || typeof v !== "object");
      out.push([path, scalars ? value.map(String).join(", ") : JSON.stringify(value)]);
    } else if (typeof value === "object") {
      if (depth >= 3) out.push([path, JSON.stringify(value)]);
      else for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(data)) {
    if (!PROSE_KEYS.has(k)) walk(v, k, 1);
  }
  return out;
}
