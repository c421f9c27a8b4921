import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { viewFor } from "../../../../src/realtime/index.js";
import type { AppEnv } from "../../env.js";
import { problemResponses } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { StreamHeaders, StreamQuery } from "./schemas.js";
import { callerStands, streamAccess } from "./stream-access.js";

/**
 * Writes a client may leave unread before its stream is cut: it reconnects with Last-Event-ID and
 * reads the rest from the outbox, instead of this process holding them in memory.
 */
const MAX_UNSENT_WRITES = 1_000;

export const route = createRoute({
  method: "get",
  path: "/api/v1/events",
  tags: ["events"],
  summary: "Live events as server-sent events: `system.hello`, then each event of the rooms joined",
  description:
    "Each event's SSE `id` is its stream position; the stream ends when its caller no longer stands (user disabled or signed out everywhere, API key revoked), checked at each keepalive; reconnecting with `Last-Event-ID` (or `?since=`) replays what was missed, each event once. `data` is a StreamEvent. A room the caller may not read is refused with 403.",
  ...access.stream,
  request: { query: StreamQuery, headers: StreamHeaders },
  responses: {
    200: {
      content: { "text/event-stream": { schema: z.string() } },
      description:
        '`event: system.hello`, then `id: <n>` / `event: <type>` / `data: {"id","eventId","type","at","data"}`',
    },
    ...problemResponses,
  },
});

export function registerStreamEvents(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const query = c.req.valid("query");
    const since = c.req.valid("header")["last-event-id"] ?? query.since;
    const { principal, rooms } = await streamAccess(c, query.rooms, query.token);
    const { realtime } = c.var.services;
    return streamSSE(c, async (stream) => {
      // One write at a time, in order: events come from the replay and the hub without awaiting.
      let writes: Promise<unknown> = Promise.resolve();
      let unsent = 0;
      const write = (message: { id?: string; event: string; data: string } | string) => {
        if (++unsent > MAX_UNSENT_WRITES) return void stream.abort();
        writes = writes
          .then(async () => {
            if (typeof message === "string") await stream.write(message);
            else await stream.writeSSE(message);
            unsent--;
          })
          .catch(() => {});
      };
      write({ event: "system.hello", data: JSON.stringify(realtime.hello(rooms)) });
      const open = await realtime.open(rooms, since, (event) =>
        write({ id: String(event.seq), event: event.type, data: JSON.stringify(viewFor(principal, event)) }),
      );
      stream.onAbort(open.close);
      try {
        while (!stream.aborted) {
          await stream.sleep(realtime.keepaliveMs);
          // A disabled user or a revoked key loses the stream here, within one keepalive.
          if (stream.aborted || !(await callerStands(c.var.services, principal))) break;
          write(": keepalive\n\n");
        }
      } finally {
        open.close();
      }
    });
  });
}
