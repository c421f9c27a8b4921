import { upgradeWebSocket } from "@hono/node-server";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { WSContext } from "hono/ws";
import { DomainError } from "../../../../src/errors.js";
import type { OpenStream } from "../../../../src/realtime/index.js";
import { viewFor } from "../../../../src/realtime/index.js";
import type { AppEnv } from "../../env.js";
import { problemResponses, STATUS_BY_CODE } from "../../http/problem.js";
import { access } from "../../middleware/access.js";
import { StreamQuery } from "./schemas.js";
import type { StreamAccess } from "./stream-access.js";
import { callerStands, roomList, streamAccess } from "./stream-access.js";

/** Bytes a client may leave unread before its socket is closed. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** What a client may send: join more rooms. */
const ClientMessage = z.object({
  type: z.literal("subscribe"),
  rooms: z.array(z.string().max(64)).min(1).max(50),
});

export const route = createRoute({
  method: "get",
  path: "/ws",
  tags: ["events"],
  summary: "Live events over a WebSocket: the same events, rooms and resume (`?since=`) as /api/v1/events",
  description:
    'Frames are JSON: `{"type":"system.hello",data}`, then StreamEvents. Send `{"type":"subscribe","rooms":[…]}` to join more rooms (answered `{"type":"subscribed",rooms}`); a room the caller may not read is answered `{"type":"error",error:{status:403,code,message,room}}`. The socket is closed (1008) when its caller no longer stands (user disabled, API key revoked).',
  ...access.stream,
  request: { query: StreamQuery },
  responses: {
    101: { description: "Switching to the WebSocket protocol" },
    ...problemResponses,
  },
});

export function registerStreamEventsWs(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const query = c.req.valid("query");
    const granted = await streamAccess(c, query.rooms, query.token);
    const { services } = c.var;
    const upgrade = upgradeWebSocket(() =>
      streamHandlers(services.realtime, granted, query.since, () =>
        callerStands(services, granted.principal),
      ),
    );
    // Foot-gun: the helper is typed for a plain Hono context; this route's is the same object.
    const answer = await upgrade(c as unknown as Parameters<typeof upgrade>[0], async () => {});
    if (answer) return answer;
    throw new DomainError(
      "VALIDATION_FAILED",
      "GET /ws needs a WebSocket upgrade; for server-sent events use /api/v1/events",
    );
  });
}

type Realtime = AppEnv["Variables"]["services"]["realtime"];

function streamHandlers(
  realtime: Realtime,
  granted: StreamAccess,
  since: number | undefined,
  stands: () => Promise<boolean>,
) {
  const { principal } = granted;
  let opened: Promise<OpenStream | undefined> = Promise.resolve(undefined);
  let recheck: ReturnType<typeof setInterval> | undefined;
  const sendJson = (ws: WSContext, message: unknown) => {
    // A client this far behind reconnects with ?since= and reads the rest from the outbox.
    const buffered = (ws.raw as { bufferedAmount?: number } | undefined)?.bufferedAmount ?? 0;
    if (buffered > MAX_BUFFERED_BYTES)
      return ws.close(1013, "too far behind; reconnect with ?since=<last id>");
    ws.send(JSON.stringify(message));
  };
  const refuse = (ws: WSContext, err: unknown) => {
    const known = err instanceof DomainError;
    const code = known ? err.code : "VALIDATION_FAILED";
    const message = known ? err.message : 'send JSON: {"type":"subscribe","rooms":[…]}';
    sendJson(ws, {
      type: "error",
      error: { status: STATUS_BY_CODE[code], code, message, ...(known ? err.context : {}) },
    });
  };
  return {
    onOpen(_event: Event, ws: WSContext) {
      sendJson(ws, realtime.hello(granted.rooms));
      opened = realtime
        .open(granted.rooms, since, (event) => sendJson(ws, viewFor(principal, event)))
        .catch(() => {
          ws.close(1011, "the event stream is unavailable; reconnect with ?since=");
          return undefined;
        });
      // A disabled user or a revoked key loses the socket within one interval.
      recheck = setInterval(() => {
        void stands().then((ok) => {
          if (!ok) ws.close(1008, "the credentials of this stream are no longer valid");
        });
      }, realtime.keepaliveMs);
    },
    async onMessage(event: MessageEvent, ws: WSContext) {
      try {
        const parsed = ClientMessage.parse(JSON.parse(String(event.data)));
        const asked = roomList(parsed.rooms.join(","));
        if (granted.tokenRoom !== undefined && asked.some((r) => r.toLowerCase() !== granted.tokenRoom))
          throw new DomainError("FORBIDDEN", `this stream token joins room ${granted.tokenRoom} only`);
        const rooms = await realtime.authorizeRooms(principal, asked);
        (await opened)?.join(rooms);
        sendJson(ws, { type: "subscribed", rooms });
      } catch (err) {
        refuse(ws, err);
      }
    },
    onClose() {
      clearInterval(recheck);
      void opened.then((stream) => stream?.close());
    },
  };
}
