/**
 * WebSocket upgrades. @hono/node-server hands each upgrade request to the app like any request, so
 * routes dispatch by path as usual (`/ws`, `/api/v1/relay`) and answer with `upgradeWebSocket`; a route that
 * does not upgrade is answered with its own status. This is the one `ws` server of the process.
 */
import { WebSocketServer } from "ws";
import { MAX_FRAME_BYTES } from "../../src/relay/index.js";

/** What `serve` needs to accept upgrades: a `ws` server that leaves listening to the HTTP server. */
export function createUpgradeServer(): WebSocketServer {
  // The largest message any route takes: a relayed datagram behind its 32-byte key (larger: 1009).
  return new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
}

/** Says goodbye to every open WebSocket (1001: reconnect elsewhere), then cuts those that linger. */
export function closeWebSockets(wss: WebSocketServer, graceMs: number): void {
  for (const ws of wss.clients) ws.close(1001, "server shutting down");
  setTimeout(() => {
    for (const ws of wss.clients) ws.terminate();
  }, graceMs).unref();
}
