/**
 * Starts the HTTP server for an app and stops it cleanly (open connections get `closeTimeoutMs`),
 * with the WebSocket relay's sessions (`/api/v1/relay`) when a relay is given.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Logger } from "../../src/logger.js";
import type { Platform } from "../../src/platform.js";
import type { RelayHub } from "../../src/relay/index.js";
import { createRelayHub, dbRelayDirectory } from "../../src/relay/index.js";
import type { App } from "./app.js";
import { closeWebSockets, createUpgradeServer } from "./upgrade.js";

export interface RunningServer {
  port: number;
  close(closeTimeoutMs?: number): Promise<void>;
}

/** What serves `/api/v1/relay`: the process's relay sessions and the logger of the upgrades. */
export interface RelayOptions {
  hub: RelayHub;
  logger: Logger;
}

/** The relay of a platform's process, as entry points serve it. */
export function platformRelay(platform: Platform): RelayOptions {
  return {
    hub: createRelayHub({
      directory: dbRelayDirectory(platform.database.db),
      metrics: platform.metrics.relay,
      logger: platform.logger,
    }),
    logger: platform.logger,
  };
}

export function listen(
  app: App,
  port: number,
  hostname: string,
  relay?: RelayOptions,
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const wss = createUpgradeServer();
    // The relay's sessions are this server's: handlers find them in the request's bindings (`c.env`).
    // Added to the adapter's own env object, which its WebSocket upgrade reads back after the handler.
    const fetch: typeof app.fetch = relay
      ? (request, env, ctx) => app.fetch(request, Object.assign(env ?? {}, { relayHub: relay.hub }), ctx)
      : app.fetch;
    const server = serve({ fetch, port, hostname, websocket: { server: wss } }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: (closeTimeoutMs = 5_000) =>
          new Promise<void>((done) => {
            relay?.hub.close();
            closeWebSockets(wss, Math.min(closeTimeoutMs, 1_000));
            const timer = setTimeout(() => {
              if ("closeAllConnections" in server) server.closeAllConnections();
            }, closeTimeoutMs);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }),
      });
    });
    server.once("error", reject);
  });
}

/** The base URL people should open: `PUBLIC_URL`, or localhost for a wildcard bind. */
export function baseUrl(publicUrl: string | undefined, host: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/$/, "");
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
