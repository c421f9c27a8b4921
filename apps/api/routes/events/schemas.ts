import { z } from "@hono/zod-openapi";

/** A stream position, as `?since=` and `Last-Event-ID` carry it. */
const Position = z
  .string()
  .regex(/^\d{1,15}$/, "must be the id of an event this stream sent (digits)")
  .transform(Number);

export const StreamQuery = z.object({
  rooms: z.string().max(2_000).optional().openapi({
    description:
      "Rooms to join, comma-separated: `admin` (admins only) or network ids. Default: `admin` for admins, its own network for a node token.",
    example: "admin",
  }),
  since: Position.optional().openapi({
    type: "string",
    description: "Resume after this event id (for SSE, `Last-Event-ID` does the same and wins).",
  }),
  token: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: "A stream token from POST /api/v1/events/token" }),
});

export const StreamHeaders = z.object({
  "last-event-id": Position.optional().openapi({ type: "string", description: "Resume after this event id" }),
});

export const StreamTokenInput = z.object({
  room: z.string().min(1).max(64).openapi({ description: "The one room the token joins", example: "admin" }),
});

export const StreamTokenSchema = z.object({
  token: z.string().openapi({ description: "wst_…; use as ?token= on /api/v1/events or /ws" }),
  expiresAt: z.date(),
  room: z.string(),
});

export const StreamEventSchema = z
  .object({
    id: z.string().openapi({ description: "Stream position: resume after it" }),
    eventId: z.uuid(),
    type: z.string().openapi({ example: "node.online" }),
    at: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi("StreamEvent");
