/**
 * Starts the HTTP server for an app and stops it cleanly (open connections get `closeTimeoutMs`), with
 * the WebSocket relay on its upgrades when one is given.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Logger } from "../../src/logger.js";
import type { Platform } from "../../src/platform.js";
import type { RelayHub } from "../../src/relay/index.js";
import { createRelayHub, dbRelayDirectory } from "../../src/relay/index.js";
import type { App } from "./app.js";
import { attachRelay } from "./relay.js";

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
    let detachRelay = () => {};
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: (closeTimeoutMs = 5_000) =>
          new Promise<void>((done) => {
            // Upgraded sockets are no longer the server's: the relay closes its own.
            detachRelay();
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
    if (relay) detachRelay = attachRelay(server as Server, app, relay.hub, relay.logger);
    server.once("error", reject);
  });
}

/** The base URL people should open: `PUBLIC_URL`, or localhost for a wildcard bind. */
export function baseUrl(publicUrl: string | undefined, host: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/$/, "");
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
