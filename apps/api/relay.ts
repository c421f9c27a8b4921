/**
 * The relay's door: WebSocket upgrades of `/api/v1/relay` on the HTTP server. An upgrade request goes
 * through the app like any request (request id, logs, authentication, the route's `node` guard), and
 * only when the route admits it does the socket become a relay session; any other answer (401, 403,
 * 426, 5xx) is written back as plain HTTP and the connection closed. Upgrades offered on other paths
 * are answered as the plain requests they also are.
 */
import type { IncomingMessage, Server } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Logger } from "../../src/logger.js";
import type { RelayHub } from "../../src/relay/index.js";
import { MAX_FRAME_BYTES } from "../../src/relay/index.js";
import type { App } from "./app.js";
import { registerUpgrade } from "./http/upgrade.js";

export const RELAY_PATH = "/api/v1/relay";

function requestOf(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  return new Request(new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`), {
    method: req.method ?? "GET",
    headers,
  });
}

async function writeResponse(socket: Duplex, res: Response): Promise<void> {
  const body = Buffer.from(await res.arrayBuffer());
  const lines = [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ""}`];
  res.headers.forEach((value, name) => {
    if (name !== "content-length" && name !== "connection") lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

const refusal = (status: number, code: string, detail: string) =>
  new Response(JSON.stringify({ success: false, status, code, detail }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });

/** Serves relay upgrades on `server` for `app`'s guard, into `hub`. Returns a function that stops it. */
export function attachRelay(server: Server, app: App, hub: RelayHub, logger: Logger): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const log = logger.child({ component: "relay" });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const request = requestOf(req);
    // Another path: an ordinary request that happens to offer an upgrade (which a server may ignore).
    if (new URL(request.url).pathname !== RELAY_PATH)
      return writeResponse(socket, await app.fetch(request, { incoming: req }));
    const slot = registerUpgrade(request);
    const res = await app.fetch(request, { incoming: req });
    if (!slot.nodeId) return writeResponse(socket, res);
    const identity = await hub.identify(slot.nodeId);
    if (!identity || identity.disabled)
      return writeResponse(socket, refusal(403, "FORBIDDEN", "a disabled node may not use the relay"));
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(identity, ws));
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    upgrade(req, socket, head).catch((err) => {
      log.error({ err }, "relay upgrade failed");
      void writeResponse(socket, refusal(500, "INTERNAL", "the relay failed to open")).catch(() =>
        socket.destroy(),
      );
    });
  };
  server.on("upgrade", onUpgrade);
  return () => {
    server.off("upgrade", onUpgrade);
    hub.close();
    wss.close();
  };
}
